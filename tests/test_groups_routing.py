"""Groups in the routing table: the rebuild and the Postgres fallback give the entries the write-through gave, and a
Valkey killed in the middle of a group conversation leaves the table in step once it is back (issue 13)."""

import asyncio

from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.routing.table import route_key
from tests.helpers import ALEX, PAT, PROXY, SAM, wait_for
from tests.test_groups import KIM, LEE, open_group, open_team
from tests.test_routing_generation import _kill, _own

ROUTE_PREFIX = "gw:route:"


async def _table(client) -> dict[str, dict[str, str]]:
    return {key: await client.hgetall(key) async for key in client.scan_iter(match=f"{ROUTE_PREFIX}*")}


async def _expected(db) -> dict[str, set[str]]:
    """Every active participant of every open conversation routed to it, and nothing else."""
    rows = await db.fetch("""SELECT c.id, c.proxy_number, p.phone FROM conversations c
                             JOIN conversation_participants cp ON cp.conversation_id = c.id AND cp.left_at IS NULL
                             JOIN participants p ON p.id = cp.participant_id WHERE c.status = 'open'""")
    expected: dict[str, set[str]] = {}
    for row in rows:
        expected.setdefault(route_key(row["proxy_number"], row["phone"]), set()).add(str(row["id"]))
    return expected


async def _in_step(client, db) -> bool:
    try:
        actual = {key: set(entries) for key, entries in (await _table(client)).items() if entries}
    except RedisConnectionError:  # this test's own client, after the restart: the next poll reconnects
        return False
    return actual == await _expected(db)


async def test_the_rebuild_writes_the_entries_the_write_through_wrote(gateway, redis_client):
    community = await gateway.community()
    await open_group(gateway, community["id"], people=((PAT, "Pat"), (ALEX, "Alex"), (SAM, "Sam"), (KIM, "Kim")))
    team = await open_team(gateway, community["id"], members=((ALEX, "Alex"), (LEE, "Lee")))
    await gateway.call("POST", f"/v1/conversations/{team['id']}/members", {"phone": SAM, "name": "Sam"})
    await gateway.call("DELETE", f"/v1/conversations/{team['id']}/members/%2B{LEE[1:]}")
    written = await _table(redis_client)
    assert len(written[route_key(PROXY, ALEX)]) == 2 and route_key(PROXY, LEE) not in written

    await redis_client.flushdb()  # a Redis restart without persistence
    await wait_for(lambda: _rebuilt(redis_client, written), what="routing table rebuilt")
    assert {key: value for key, value in (await _table(redis_client)).items() if value} == \
        {key: value for key, value in written.items() if value}


async def _rebuilt(client, written) -> bool:
    return await client.hgetall(route_key(PROXY, ALEX)) == written[route_key(PROXY, ALEX)]


async def test_a_redis_miss_is_answered_from_postgres_with_the_same_entries(gateway, redis_client):
    community = await gateway.community()
    await open_team(gateway, community["id"])
    await gateway.delivered_to(SAM)
    written = await redis_client.hgetall(route_key(PROXY, ALEX))
    await redis_client.delete(route_key(PROXY, ALEX))
    await gateway.sms(ALEX, PROXY, "found you")
    assert await gateway.delivered_to(PAT) == ["found you"]
    assert (await gateway.delivered_to(SAM, 2))[1] == "Alex to Pat: found you"
    assert await redis_client.hgetall(route_key(PROXY, ALEX)) == written  # filled as the write-through had it


async def test_a_valkey_killed_in_the_middle_of_a_group_conversation(start_gateway, clean, own_redis, db):
    [gateway], client = await _own(start_gateway, clean, own_redis)
    community = await gateway.community()
    group = await open_group(gateway, community["id"],
                             people=((PAT, "Pat"), (ALEX, "Alex"), (SAM, "Sam"), (KIM, "Kim")))
    await gateway.sms(PAT, PROXY, "one")
    await gateway.delivered_to(KIM, 2)

    _kill(own_redis)
    # While Valkey is down: Kim is removed and Lee added (Postgres only), and the group keeps talking.
    status, _ = await gateway.call("DELETE", f"/v1/conversations/{group['id']}/members/%2B{KIM[1:]}")
    assert status == 200
    status, _ = await gateway.call("POST", f"/v1/conversations/{group['id']}/members", {"phone": LEE, "name": "Lee"})
    assert status == 201
    await gateway.sms(ALEX, PROXY, "two")
    own_redis.start_redis()  # from its append-only file: Kim's entry and the old marker are still there

    await wait_for(lambda: _in_step(client, db), timeout=15, what="table in step with Postgres")
    await gateway.sms(SAM, PROXY, "three")
    assert "Sam: three" in await gateway.delivered_to(LEE, 3, timeout=10)
    assert "Alex: two" in await gateway.delivered_to(PAT, 3, timeout=10)
    await asyncio.sleep(0.3)
    assert [b for b in gateway.carrier.bodies_to(KIM) if "two" in b or "three" in b] == []
    await client.aclose()


async def test_a_stale_route_naming_a_member_who_left_sends_them_nothing(gateway, redis_client, db):
    community = await gateway.community()
    group = await open_group(gateway, community["id"],
                             people=((PAT, "Pat"), (ALEX, "Alex"), (SAM, "Sam"), (KIM, "Kim")))
    await gateway.delivered_to(KIM)
    before = {phone: await redis_client.hgetall(route_key(PROXY, phone)) for phone in (PAT, KIM)}
    status, _ = await gateway.call("DELETE", f"/v1/conversations/{group['id']}/members/%2B{KIM[1:]}")
    assert status == 200
    # Redis behind Postgres, as after a write-through lost while another process still trusts it: the routes from
    # before Kim left come back.
    for phone, entries in before.items():
        await redis_client.hset(route_key(PROXY, phone), mapping=entries)

    await gateway.sms(PAT, PROXY, "after Kim left")
    assert (await gateway.delivered_to(ALEX, 2))[1] == "Pat: after Kim left"
    await gateway.sms(KIM, PROXY, "still here?")  # Kim's own stale route: found stale when stored
    assert (await gateway.delivered_to(KIM, 2))[1] == "This number only relays active conversations."
    await asyncio.sleep(0.3)
    assert len(gateway.carrier.bodies_to(KIM)) == 2
    assert await db.fetchval("SELECT count(*) FROM messages WHERE to_number = $1 AND kind = 'relay'", KIM) == 0
    assert not [b for b in gateway.carrier.bodies_to(PAT) if "still here" in b]
    assert await redis_client.hkeys(route_key(PROXY, KIM)) == []

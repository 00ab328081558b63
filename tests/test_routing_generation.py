"""The routing table in step with Postgres after a Redis crash, restart or lost write (issue 9, section 1).

Valkey is killed with SIGKILL and restarted from its append-only file, so the "table built" marker survives
while writes made during the outage are missing: only a generation kept in Postgres and Redis's run_id tell.
"""

import asyncio
import signal

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.ops.metrics import Metrics
from gateway.routing.table import BUILT, RouteTable, route_key
from tests.conftest import Servers
from tests.helpers import ALEX, PAT, PROXY, SAM, wait_for

ROUTE_PREFIX = "gw:route:"


def _kill(own_redis) -> None:
    own_redis._valkey.send_signal(signal.SIGKILL)
    own_redis._valkey.wait(10)


async def _own(start_gateway, clean, own_redis, processes: int = 1, **sections):
    servers = Servers(clean.database_url, own_redis.start_redis(), own_redis)
    gateways = [await start_gateway(servers=servers, **sections) for _ in range(processes)]
    client = aioredis.from_url(servers.redis_url, decode_responses=True)
    await wait_for(lambda: client.exists(BUILT), what="routing table built")
    return gateways, client


async def _in_step(client, db) -> bool:
    """Every open conversation routed both ways, and nothing else routed."""
    rows = await db.fetch("""SELECT c.id, c.proxy_number, p.phone AS prospect, a.phone AS advocate
                             FROM conversations c JOIN participants p ON p.id = c.prospect_id
                             JOIN participants a ON a.id = c.advocate_id WHERE c.status = 'open'""")
    expected: dict[str, set[str]] = {}
    for row in rows:
        for phone in (row["prospect"], row["advocate"]):
            expected.setdefault(route_key(row["proxy_number"], phone), set()).add(str(row["id"]))
    try:
        actual = {key: set(await client.hkeys(key)) async for key in client.scan_iter(match=f"{ROUTE_PREFIX}*")}
    except RedisConnectionError:  # this test's own client, after the restart: the next poll reconnects
        return False
    return actual == expected


async def test_a_conversation_created_while_valkey_was_down_is_routed_after_its_restart(
        start_gateway, clean, own_redis, db):
    [gateway], client = await _own(start_gateway, clean, own_redis)
    community = await gateway.community()
    with_pat = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)

    _kill(own_redis)
    with_sam = await gateway.conversation(community["id"], prospect=(SAM, "Sam"))
    own_redis.start_redis()  # from its append-only file: the marker is still there

    await gateway.sms(ALEX, PROXY, f"#{with_sam['code']} hi Sam")
    assert await gateway.delivered_to(SAM) == ["hi Sam"]
    await gateway.sms(SAM, PROXY, "hello Alex")
    await wait_for(lambda: _received(gateway, ALEX, f"#{with_sam['code']} Sam: hello Alex"), what="code shown")
    await gateway.sms(ALEX, PROXY, "see you then")
    assert await gateway.delivered_to(SAM, 2) == ["hi Sam", "see you then"]
    assert gateway.carrier.bodies_to(PAT) == []
    await wait_for(lambda: _in_step(client, db), what="routing table rebuilt")
    assert with_pat["id"] != with_sam["id"]
    await client.aclose()


async def _received(gateway, phone, body) -> bool:
    return body in gateway.carrier.bodies_to(phone)


async def test_a_process_that_saw_no_routing_error_still_notices_the_restart(start_gateway, clean, own_redis, db):
    # Checks far apart: the second process must notice the restart on its own reconnection, not by a check.
    [first, second], client = await _own(start_gateway, clean, own_redis, processes=2,
                                         tasks={"routes_check_interval": 60.0})
    community = await first.community()
    await first.conversation(community["id"])
    await first.delivered_to(ALEX)
    await second.sms(PAT, PROXY, "warm up the second process's routes")
    await first.delivered_to(ALEX, 2)

    _kill(own_redis)
    with_sam = await first.conversation(community["id"], prospect=(SAM, "Sam"))
    own_redis.start_redis()

    await second.sms(ALEX, PROXY, f"#{with_sam['code']} hi Sam")
    assert await second.delivered_to(SAM) == ["hi Sam"]
    assert first.carrier.bodies_to(PAT) == []
    await wait_for(lambda: _in_step(client, db), what="routing table rebuilt")
    await client.aclose()


async def _two_conversations_then_valkey_killed(start_gateway, clean, own_redis):
    """Alex in two conversations on one number (Pat's and Sam's), then Valkey killed."""
    [gateway], client = await _own(start_gateway, clean, own_redis)
    community = await gateway.community()
    with_pat = await gateway.conversation(community["id"])
    with_sam = await gateway.conversation(community["id"], prospect=(SAM, "Sam"))
    await gateway.delivered_to(ALEX, 2)
    _kill(own_redis)
    return gateway, client, with_pat, with_sam


async def test_a_close_that_could_not_reach_valkey_leaves_no_route_once_it_is_back(start_gateway, clean, own_redis,
                                                                                   db):
    gateway, client, with_pat, with_sam = await _two_conversations_then_valkey_killed(start_gateway, clean, own_redis)
    status, body = await gateway.call("POST", f"/v1/conversations/{with_sam['id']}/close")
    assert (status, body["status"]) == (200, "closed")
    own_redis.start_redis()

    await wait_for(lambda: _in_step(client, db), what="the closed conversation's routes removed")
    assert await client.hkeys(route_key(PROXY, ALEX)) == [str(with_pat["id"])]
    await gateway.sms(PAT, PROXY, "just us now")
    await wait_for(lambda: _received(gateway, ALEX, "just us now"), what="relayed without a code")
    await client.aclose()


async def test_an_expiry_that_could_not_reach_valkey_leaves_no_route_once_it_is_back(start_gateway, clean,
                                                                                     own_redis, db):
    gateway, client, with_pat, with_sam = await _two_conversations_then_valkey_killed(start_gateway, clean, own_redis)
    await db.execute("UPDATE conversations SET last_activity_at = now() - interval '400 days' WHERE id = $1",
                     with_sam["id"])
    await wait_for(lambda: _status_is(db, with_sam["id"], "expired"), what="conversation expired")
    own_redis.start_redis()

    await wait_for(lambda: _in_step(client, db), what="the expired conversation's routes removed")
    assert await client.hkeys(route_key(PROXY, ALEX)) == [str(with_pat["id"])]
    await client.aclose()


async def _status_is(db, conversation_id, status) -> bool:
    return await db.fetchval("SELECT status FROM conversations WHERE id = $1", conversation_id) == status


async def test_a_rebuild_while_conversations_open_and_close_ends_in_step(gateway, db, redis_client):
    """Several rebuilds (small pages, so each spans many round trips) race opens and closes."""
    community = await gateway.community(numbers=["+14155550100", "+14155550101", "+14155550102"])
    advocates = [f"+1415555{3000 + i:04d}" for i in range(40)]
    opened = [await gateway.conversation(community["id"], prospect=(PAT, "Pat"), advocate=(phone, "Adv"))
              for phone in advocates[:20]]
    tables = [RouteTable(redis_client, gateway.pool, Metrics(), page=3) for _ in range(2)]

    async def churn():
        for i, phone in enumerate(advocates[20:]):
            await gateway.conversation(community["id"], prospect=(SAM, "Sam"), advocate=(phone, "Adv"))
            status, _ = await gateway.call("POST", f"/v1/conversations/{opened[i]['id']}/close")
            assert status == 200

    async def rebuild_repeatedly(table):
        for _ in range(5):
            await redis_client.delete("gw:routes:rebuilding")
            await table.rebuild()

    await asyncio.gather(churn(), *(rebuild_repeatedly(table) for table in tables))
    assert await _in_step(redis_client, db)

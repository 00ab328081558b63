"""Erasing a phone from a community (POST /v1/communities/{id}/erasures): nothing in Postgres or Redis names it
afterwards, except an opt-out kept as the phone and that refusal alone; counts stay; the audit finds it."""

import pytest

from gateway.keys import ROUTES
from tests.helpers import ALEX, PAT, PROXY, PROXY_2, TOKEN, wait_for

SAM = "+14155552673"


async def _tables_naming(db, phone: str) -> dict[str, int]:
    """Every text, text[], jsonb and bytea column of every table, searched for the phone: table.column -> rows."""
    columns = await db.fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' "
        "AND data_type IN ('text', 'ARRAY', 'jsonb', 'bytea') AND table_name IN "
        "(SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE')")
    found = {}
    for column in columns:
        value = f'"{column["column_name"]}"'
        text = f"encode({value}, 'escape')" if column["data_type"] == "bytea" else f"{value}::text"
        count = await db.fetchval(f'SELECT count(*) FROM "{column["table_name"]}" WHERE strpos({text}, $1) > 0',
                                  phone)
        if count:
            found[f'{column["table_name"]}.{column["column_name"]}'] = count
    return found


async def _redis_naming(redis, phone: str) -> list[str]:
    return [key.decode() if isinstance(key, bytes) else key async for key in redis.scan_iter(match=f"*{phone}*")]


async def _story(gateway):
    """Pat and Alex talk; Pat verified, on the allow list; Pat also in a group with Alex and Sam; Alex and Sam talk
    alone on another number."""
    community = await gateway.community(numbers=(PROXY, PROXY_2))
    cid = community["id"]
    conversation = await gateway.conversation(cid)
    await gateway.delivered_to(ALEX)
    assert (await gateway.sms(ALEX, PROXY, "Yes, parking is included"))[0] == 200
    assert (await gateway.sms(PAT, PROXY, "Great, thanks"))[0] == 200
    await gateway.delivered_to(PAT)
    await gateway.call("POST", f"/v1/communities/{cid}/allow-list", {"numbers": [PAT]})
    other = await gateway.conversation(cid, prospect=(SAM, "Sam"), message="Hello Alex")
    return cid, conversation, other


async def test_nothing_names_an_erased_phone_afterwards(gateway, db):
    cid, conversation, other = await _story(gateway)
    assert await _tables_naming(db, PAT)  # the test can find it before
    assert await _redis_naming(gateway.redis, PAT)
    relayed_before = await db.fetchval("SELECT count(*) FROM messages")

    status, erased = await gateway.call("POST", f"/v1/communities/{cid}/erasures", {"phone": "(415) 555-2671"})
    assert status == 201, erased
    assert erased["requested_by"] == "tests" and erased["counts"]["conversations_closed"] == 1
    assert erased["counts"]["messages"] >= 4 and erased["counts"]["contacts_deleted"] == 1

    assert await _tables_naming(db, PAT) == {}
    assert await _redis_naming(gateway.redis, PAT) == []
    assert await db.fetchval("SELECT count(*) FROM messages") == relayed_before  # counts stay
    status, body = await gateway.call("GET", f"/v1/conversations/{conversation['id']}")
    assert body["status"] == "closed" and body["closed_reason"] == "erased"
    bodies = {m["body"] for m in await gateway.messages(conversation["id"])}
    assert bodies == {""}
    # Alex and Sam's conversation is untouched
    status, body = await gateway.call("GET", f"/v1/conversations/{other['id']}")
    assert body["status"] == "open"
    assert {m["body"] for m in await gateway.messages(other["id"])} != {""}

    # Pat texting again is a stranger: no conversation routes them
    assert (await gateway.sms(PAT, PROXY, "Hello?"))[0] == 200
    assert await db.fetchval("SELECT count(*) FROM messages WHERE conversation_id = $1 AND body = 'Hello?'",
                             conversation["id"]) == 0


async def test_the_audit_finds_an_erasure_by_the_phone_without_keeping_it(gateway, db):
    cid, _, _ = await _story(gateway)
    status, first = await gateway.call("POST", f"/v1/communities/{cid}/erasures", {"phone": PAT})
    assert status == 201
    status, again = await gateway.call("POST", f"/v1/communities/{cid}/erasures", {"phone": PAT})
    assert status == 201 and again["counts"]["messages"] == 0 and again["counts"]["conversations_closed"] == 0
    status, body = await gateway.call("GET", f"/v1/communities/{cid}/erasures?phone=%2B14155552671")
    assert [e["id"] for e in body["erasures"]] == [again["id"], first["id"]]
    status, body = await gateway.call("GET", f"/v1/communities/{cid}/erasures?phone=%2B14155552672")
    assert body["erasures"] == []
    status, body = await gateway.call("GET", f"/v1/communities/{cid}/erasures?limit=1")
    assert [e["id"] for e in body["erasures"]] == [again["id"]]
    status, body = await gateway.call("GET", f"/v1/communities/{cid}/erasures?limit=1&before={again['id']}")
    assert [e["id"] for e in body["erasures"]] == [first["id"]]
    assert await db.fetchval("SELECT count(*) FROM erasures WHERE strpos(phone_hash::text, '4155552671') > 0") == 0


async def test_an_opt_out_outlives_the_erasure(gateway, db):
    cid, conversation, _ = await _story(gateway)
    assert (await gateway.sms(PAT, PROXY, "STOP"))[0] == 200
    status, erased = await gateway.call("POST", f"/v1/communities/{cid}/erasures", {"phone": PAT})
    assert status == 201 and erased["counts"]["contacts_kept_for_opt_out"] == 1
    assert await _tables_naming(db, PAT) == {"contacts.phone": 1}
    contact = await db.fetchrow("SELECT * FROM contacts WHERE phone = $1", PAT)
    assert contact["preference"] == "opted_out" and contact["preference_keyword"] is None
    # the platform cannot text them again: a conversation naming them as the one notified is blocked
    status, body = await gateway.call("POST", "/v1/conversations", {
        "community_id": cid, "prospect": {"phone": SAM, "name": "Sam"}, "advocate": {"phone": PAT, "name": "Pat"},
        "message": "Back?"})
    assert status == 201, body
    assert (body["notification"]["status"], body["notification"]["status_reason"]) == ("blocked", "opted_out")


async def test_waiting_messages_to_the_phone_are_canceled(gateway, db):
    cid, conversation, _ = await _story(gateway)
    held = await db.fetchval(
        "INSERT INTO messages (community_id, conversation_id, direction, kind, from_number, to_number, body, status, "
        "status_reason) VALUES ($1, $2, 'outbound', 'relay', $3, $4, 'later', 'held', 'daily_limit') RETURNING id",
        cid, conversation["id"], PROXY, PAT)
    status, erased = await gateway.call("POST", f"/v1/communities/{cid}/erasures", {"phone": PAT})
    assert erased["counts"]["messages_canceled"] == 1
    row = await db.fetchrow("SELECT status, status_reason, body FROM messages WHERE id = $1", held)
    assert tuple(row) == ("canceled", "erased", "")


@pytest.mark.parametrize("body, status, code", [
    ({}, 422, None), ({"phone": "not a phone"}, 422, "invalid_number"), ({"phone": 14155552671}, 422, None),
    ({"phone": PAT, "extra": 1}, 422, None), ([PAT], 422, None),
])
async def test_bad_requests(gateway, body, status, code):
    cid = (await gateway.community())["id"]
    got, answer = await gateway.call("POST", f"/v1/communities/{cid}/erasures", body)
    assert got in (400, 422) and "error" in answer
    if code:
        assert answer["error"]["code"] == code


async def test_no_such_community_and_a_read_only_token(start_gateway):
    tokens = {"tests": TOKEN, "reader": {"token": "r-token", "read_only": True}}
    gateway = await start_gateway(server={"api_tokens": tokens})
    cid = (await gateway.community())["id"]
    status, body = await gateway.call("POST", "/v1/communities/999/erasures", {"phone": PAT})
    assert status == 404 and body["error"]["code"] == "community_not_found"
    status, body = await gateway.call("POST", f"/v1/communities/{cid}/erasures", {"phone": PAT}, token="r-token")
    assert status == 403
    status, body = await gateway.call("GET", f"/v1/communities/{cid}/erasures", token="r-token")
    assert status == 200


async def test_routes_of_the_erased_phone_leave_redis(gateway):
    cid, conversation, _ = await _story(gateway)
    await wait_for(lambda: _has_route(gateway.redis), what="Pat's route in Redis")
    await gateway.call("POST", f"/v1/communities/{cid}/erasures", {"phone": PAT})
    assert not await _has_route(gateway.redis)
    # and the table, rebuilt from Postgres, has none either
    await gateway.client.app[ROUTES].rebuild()
    assert not await _has_route(gateway.redis)


async def _has_route(redis) -> bool:
    return bool([key async for key in redis.scan_iter(match=f"gw:route:*{PAT}*")])


async def test_a_broadcast_recipient_is_erased_too(start_gateway, db):
    from tests.test_sends import template
    gateway = await start_gateway("sandbox")
    cid = (await gateway.community(quiet_hours=False))["id"]  # whatever the hour the suite runs at
    tid = await template(gateway, cid, body="Your reward is ready.")
    await gateway.call("PUT", f"/v1/communities/{cid}/contacts/{PAT}", {"name": "Pat", "preference": "opted_in"})
    status, broadcast = await gateway.call("POST", f"/v1/communities/{cid}/broadcasts",
                                           {"template_id": tid, "audience": {"phones": [PAT, ALEX]}})
    assert status == 201, broadcast

    async def finished():
        return await db.fetchval("SELECT finished_at FROM broadcasts WHERE id = $1", broadcast["id"])

    await wait_for(finished, 15, "the broadcast finished")
    status, erased = await gateway.call("POST", f"/v1/communities/{cid}/erasures", {"phone": PAT})
    assert status == 201 and erased["counts"]["broadcast_recipients"] == 1
    assert await _tables_naming(db, PAT) == {}
    status, body = await gateway.call("GET", f"/v1/communities/{cid}/broadcasts/{broadcast['id']}")
    assert status == 200, body  # its counts stay: the recipient kept its place under the pseudonym

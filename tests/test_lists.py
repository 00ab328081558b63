"""The lists: every cursor walked to the end, each filter, bad queries refused, and indexes behind the filters."""

from __future__ import annotations

import base64
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import ALEX, PAT, PROXY, PROXY_2, PROXY_3, SAM, TOKEN, wait_for
from tests.test_fuzz import FUZZ, QUERY_VALUES

LEE = "+14155552674"


async def _walk(gateway, path: str, items: str, **query) -> list[dict]:
    """Every page of a list, by its cursor; the rows in order."""
    seen, pages = [], 0
    cursor = None
    while True:
        params = {**query, **({"cursor": cursor} if cursor else {})}
        status, body = await gateway.call("GET", f"{path}?{urlencode(params)}")
        assert status == 200, body
        seen.extend(body[items])
        pages += 1
        assert pages < 100
        if "next" not in body:
            return seen
        assert body[items], "a page with a next cursor holds rows"
        cursor = body["next"]


async def _ids(gateway, path, items, **query) -> list[int]:
    return [row["id"] for row in await _walk(gateway, path, items, **query)]


@pytest.fixture
async def filled(gateway):
    """Two communities: A (PROXY, PROXY_2) with conversations Pat-Alex, Sam-Alex, Lee-Pat (closed);
    B (PROXY_3) with Pat-Alex."""
    a = await gateway.community(numbers=(PROXY, PROXY_2), name="A")
    b = await gateway.community(numbers=(PROXY_3,), name="B")
    one = await gateway.conversation(a["id"])
    two = await gateway.conversation(a["id"], prospect=(SAM, "Sam"))
    three = await gateway.conversation(a["id"], prospect=(LEE, "Lee"), advocate=(PAT, "Pat"))
    four = await gateway.conversation(b["id"])
    assert (await gateway.call("POST", f"/v1/conversations/{three['id']}/close", {}))[0] == 200
    for _ in range(3):
        assert (await gateway.call("POST", f"/v1/conversations/{one['id']}/messages",
                                   {"from": "advocate", "body": "Hello"}))[0] == 201
    return {"a": a, "b": b, "conversations": [one, two, three, four]}


async def test_communities_walk_to_the_end_newest_first(gateway):
    made = [(await gateway.community(numbers=(f"+1415555{1000 + i}",), name=f"C{i}"))["id"] for i in range(7)]
    for limit in (1, 2, 3, 7, 1000):
        assert await _ids(gateway, "/v1/communities", "communities", limit=limit) == made[::-1]
    status, body = await gateway.call("GET", "/v1/communities?mode=test")
    assert (status, body) == (200, {"communities": []})
    listed = (await gateway.call("GET", "/v1/communities?limit=1"))[1]["communities"][0]
    assert listed["numbers"] == ["+14155551006"] and listed["mode"] == "live" and "daily" not in listed


async def test_conversations_by_each_filter(gateway, filled):
    one, two, three, four = [c["id"] for c in filled["conversations"]]
    a, b = filled["a"]["id"], filled["b"]["id"]
    path = "/v1/conversations"
    assert await _ids(gateway, path, "conversations", limit=1) == [four, three, two, one]
    assert await _ids(gateway, path, "conversations", community_id=a, limit=2) == [three, two, one]
    assert await _ids(gateway, path, "conversations", community_id=b) == [four]
    assert await _ids(gateway, path, "conversations", phone=PAT, limit=1) == [four, three, one]
    assert await _ids(gateway, path, "conversations", phone=SAM) == [two]
    assert await _ids(gateway, path, "conversations", phone="(415) 555-2674") == [three]  # national, read as US
    assert await _ids(gateway, path, "conversations", status="closed") == [three]
    assert await _ids(gateway, path, "conversations", status="open", community_id=a) == [two, one]
    created = filled["conversations"][1]["created_at"]
    assert await _ids(gateway, path, "conversations", created_since=created) == [four, three, two]
    assert await _ids(gateway, path, "conversations", created_until=created) == [one]
    # one's last activity is its relayed messages, after every conversation was opened
    last = (await gateway.call("GET", f"{path}/{one}"))[1]["last_activity_at"]
    assert await _ids(gateway, path, "conversations", updated_since=last) == [one]
    assert one not in await _ids(gateway, path, "conversations", updated_until=last)


async def test_messages_by_each_filter(gateway, filled):
    one, two, three, four = [c["id"] for c in filled["conversations"]]
    a, b = filled["a"]["id"], filled["b"]["id"]
    path = "/v1/messages"
    everything = await _ids(gateway, path, "messages", limit=2)
    assert everything == sorted(everything, reverse=True) and len(everything) == 4 + 3
    assert len(await _ids(gateway, path, "messages", community_id=a, limit=1)) == 3 + 3
    assert len(await _ids(gateway, path, "messages", community_id=b)) == 1
    in_one = await _walk(gateway, path, "messages", conversation_id=one, limit=2)
    assert [m["kind"] for m in in_one] == ["relay", "relay", "relay", "notification"]
    assert {m["conversation_id"] for m in await _walk(gateway, path, "messages", phone=ALEX)} == {one, two, four}
    assert {m["conversation_id"] for m in await _walk(gateway, path, "messages", phone=PAT)} == {one, three}
    assert len(await _ids(gateway, path, "messages", kind="notification", limit=1)) == 4
    assert len(await _ids(gateway, path, "messages", kind="relay", community_id=b)) == 0
    await gateway.delivered_to(PAT, 3)
    await wait_for(lambda: _settled(gateway), 5.0, "every message sent")
    everyone = await _walk(gateway, path, "messages")
    for status in {m["status"] for m in everyone} | {"failed"}:
        assert await _ids(gateway, path, "messages", status=status) == [
            m["id"] for m in everyone if m["status"] == status]
    assert {m["status"] for m in everyone} != {"failed"}
    newest = (await gateway.call("GET", f"{path}?limit=1"))[1]["messages"][0]
    assert await _ids(gateway, path, "messages", created_since=newest["created_at"]) == [newest["id"]]
    assert newest["id"] not in await _ids(gateway, path, "messages", created_until=newest["created_at"])
    # A phone's list holds what it sent as well as what it was sent, newest first, page by page.
    assert (await gateway.sms(PAT, filled["conversations"][0]["proxy_number"], "From Pat"))[0] == 200
    pats = await _walk(gateway, path, "messages", phone=PAT, limit=1)
    assert [(m["kind"], m["from"]) for m in pats][0] == ("inbound", PAT)
    assert [m["id"] for m in pats] == sorted((m["id"] for m in pats), reverse=True)
    assert {m["conversation_id"] for m in pats} == {one, three} and len(pats) == 3 + 1 + 1


async def _settled(gateway) -> bool:
    return all(m["status"] not in ("queued", "submitting") for m in await _walk(gateway, "/v1/messages", "messages"))


async def test_verifications_by_each_filter(gateway):
    community = await gateway.community()
    started = []
    for phone in (PAT, SAM, LEE):
        status, body = await gateway.call("POST", "/v1/verifications", {"community_id": community["id"],
                                                                          "phone": phone})
        assert status == 201, body
        started.append(body["id"])
    path = "/v1/verifications"
    assert await _ids(gateway, path, "verifications", limit=1) == started[::-1]
    assert await _ids(gateway, path, "verifications", phone=PAT) == [started[0]]
    assert await _ids(gateway, path, "verifications", community_id=community["id"] + 1) == []
    assert await _ids(gateway, path, "verifications", status="expired") == []
    await gateway.pool.execute("UPDATE verifications SET expires_at = now() WHERE id = $1", started[1])
    assert await _ids(gateway, path, "verifications", status="expired") == [started[1]]
    assert started[1] not in await _ids(gateway, path, "verifications", status="pending")


@pytest.mark.parametrize("query", [
    "cursor=nonsense", "cursor=" + base64.urlsafe_b64encode(b'{"k":"communities","t":"2026-01-01T00:00:00+00:00",'
                                                            b'"id":1}').decode(),
    "limit=0", "limit=1001", "limit=x", "status=nope", "kind=nope", "created_since=yesterday",
    "created_until=2026-01-01T00:00:00", "created_since=0001-01-01T00:00:00%2B14:00",
    "created_until=9999-12-31T23:59:59-14:00", "community_id=-1", "phone=12", "conversation_id=a"])
async def test_a_bad_query_is_refused(gateway, query):
    status, body = await gateway.call("GET", f"/v1/messages?{query}")
    assert (status, body["error"]["code"]) == (422, "invalid_query"), body


@pytest.mark.parametrize("table, where", [
    ("communities", "created_at < now()"),
    ("conversations", "community_id = 1"), ("conversations", "prospect_id = 1"),
    ("conversations", "advocate_id = 1"), ("participants", "phone = '+1'"),
    ("messages", "community_id = 1"), ("messages", "conversation_id = 1"), ("messages", "from_number = '+1'"),
    ("messages", "to_number = '+1'"), ("messages", "created_at < now()"),
    ("verifications", "community_id = 1"), ("verifications", "phone = '+1'"),
    ("verifications", "created_at < now()")])
async def test_each_filter_has_an_index_in_list_order(db, table, where):
    """With sequential scans, bitmaps and sorts priced out, each filter of a list is served by an index in
    (created_at, id) order (no sort): what keeps a list on 100 million messages from reading the table."""
    await db.execute("SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off")
    order = "" if table == "participants" else " ORDER BY created_at DESC, id DESC LIMIT 10"
    plan = "\n".join(r[0] for r in await db.fetch(f"EXPLAIN SELECT * FROM {table} WHERE {where}{order}"))
    assert "Seq Scan" not in plan and "Sort" not in plan, plan


LIST_QUERIES = [f"{path}?{name}={{v}}" for path, names in [
    ("/v1/communities", ["mode", "cursor", "limit", "created_since"]),
    ("/v1/conversations", ["community_id", "phone", "status", "updated_until", "cursor"]),
    ("/v1/messages", ["conversation_id", "phone", "kind", "status", "created_until", "cursor"]),
    ("/v1/verifications", ["community_id", "phone", "status", "cursor"])] for name in names]


@FUZZ
@given(value=QUERY_VALUES | st.datetimes(timezones=st.timezones()).map(lambda at: quote(at.isoformat())),
       where=st.sampled_from(LIST_QUERIES))
async def test_any_filter_value_answers_cleanly(gateway, value, where):
    async with gateway.client.get(where.format(v=value), headers={"Authorization": f"Bearer {TOKEN}"}) as response:
        assert response.status in (200, 422), await response.text()
        if response.status == 422:
            assert (await response.json())["error"]["code"] == "invalid_query"


@pytest.mark.parametrize("path", ["/v1/messages?communtiy_id=2", "/v1/conversations?status=open&stauts=closed",
                                  "/v1/communities/1?verbose=1", "/v1/messages?community_id=1&community_id_=2"])
async def test_a_parameter_the_endpoint_does_not_take_is_refused(gateway, path):
    """A misspelt filter was ignored, so "?communtiy_id=2" listed every community's messages."""
    await gateway.community()
    status, body = await gateway.call("GET", path)
    assert status == 422 and body["error"]["code"] == "invalid_query", body
    assert "not a parameter" in body["error"]["message"]


async def test_a_body_sent_to_an_endpoint_that_takes_none_is_refused(gateway):
    community = await gateway.community(event_url="https://platform.example/events")
    path = f"/v1/communities/{community['id']}/event-secret/rotate"
    status, body = await gateway.call("POST", path, {"secret": "mine"})
    assert status == 400 and body["error"]["code"] == "invalid_body", body
    assert (await gateway.call("POST", path, {}))[0] == 200
    assert (await gateway.call("POST", path))[0] == 200

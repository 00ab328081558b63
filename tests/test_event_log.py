"""The event delivery log as a list of the API (issue 12): the lists' cursor and window (gateway/api/listing.py),
and a token limited to some communities neither sees nor replays the deliveries to the gateway-wide URL."""

from __future__ import annotations

import base64
import json

import pytest

from tests.helpers import ALEX, PAT, PROXY_2, SAM, TOKEN

OPS = "ops-token-0123456789"
OPENED = "type=conversation.opened"


@pytest.fixture
async def quiet(start_gateway, hook_receiver):
    """A gateway that never posts events (its poster's interval is an hour: deliveries stay pending), with a
    gateway-wide URL, a token limited to community 1, and community 1 sending conversation.opened to its URL."""
    gateway = await start_gateway(hooks={"interval": 3600.0, "event_url": hook_receiver.url}, server={
        "api_tokens": {"tests": TOKEN, "ops": {"token": OPS, "communities": [1]}}})
    community = await gateway.community(event_url=hook_receiver.url, event_types=["conversation.opened"])
    assert community["id"] == 1
    gateway.log = "/v1/communities/1/events"
    return gateway


async def _log(gateway, query: str = "", token: str = TOKEN) -> dict:
    status, body = await gateway.call("GET", f"{gateway.log}?{query}", token=token)
    assert status == 200, body
    return body


async def test_a_community_limited_token_neither_sees_nor_replays_gateway_wide_deliveries(quiet):
    await quiet.conversation(1)
    full = (await _log(quiet, OPENED))["events"]
    assert sorted(e["target"] for e in full) == ["community", "gateway"]  # the full token sees both
    mine = next(e["id"] for e in full if e["target"] == "community")
    gateway_wide = next(e["id"] for e in full if e["target"] == "gateway")
    for query in ("", OPENED, "status=pending", f"limit=1&{OPENED}"):
        seen = (await _log(quiet, query, token=OPS))["events"]
        assert seen and {e["target"] for e in seen} == {"community"}, (query, seen)
    status, body = await quiet.call("POST", f"{quiet.log}/{gateway_wide}/replay", token=OPS)
    assert (status, body["error"]["code"]) == (404, "delivery_not_found")
    status, body = await quiet.call("POST", f"{quiet.log}/{mine}/replay", token=OPS)
    assert (status, body) == (202, {"id": mine, "status": "pending"})
    replay = {"status": "pending", "type": "conversation.opened"}
    status, body = await quiet.call("POST", f"{quiet.log}/replay", replay, token=OPS)
    assert (status, body) == (202, {"replayed": [mine]})
    status, body = await quiet.call("POST", f"{quiet.log}/replay", replay)
    assert (status, sorted(body["replayed"])) == (202, sorted([mine, gateway_wide]))


async def test_the_log_pages_with_the_lists_cursor_and_window(quiet):
    for prospect in (PAT, SAM, PROXY_2):
        await quiet.conversation(1, prospect=(prospect, "P"), advocate=(ALEX, "A"))
    everything = (await _log(quiet, f"{OPENED}&limit=1000"))["events"]
    assert len(everything) == 6  # the community's URL and the gateway's, for each opening
    walked, cursor = [], None
    while True:  # one at a time to the end, newest first; next is null on the last page
        page = await _log(quiet, f"{OPENED}&limit=1" + (f"&cursor={cursor}" if cursor else ""))
        walked += page["events"]
        if (cursor := page["next"]) is None:
            break
        assert json.loads(base64.urlsafe_b64decode(cursor + "==="))["k"] == "events"  # the lists' scheme
    assert [e["id"] for e in walked] == [e["id"] for e in everything]
    assert [(e["created_at"], e["id"]) for e in walked] == sorted(((e["created_at"], e["id"]) for e in walked),
                                                                   reverse=True)
    newest = walked[0]["created_at"]
    assert [e["id"] for e in (await _log(quiet, f"{OPENED}&created_until={newest}"))["events"]] == [
        e["id"] for e in walked if e["created_at"] < newest]
    assert [e["id"] for e in (await _log(quiet, f"{OPENED}&created_since={newest}"))["events"]] == [
        e["id"] for e in walked if e["created_at"] >= newest]


def _cursor(kind: str, row_id: int) -> str:
    raw = json.dumps({"k": kind, "t": "2026-01-01T00:00:00+00:00", "id": row_id}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_a_cursor_belongs_to_its_own_list(quiet):
    for prospect in (PAT, SAM):
        await quiet.conversation(1, prospect=(prospect, "P"))
    status, messages = await quiet.call("GET", "/v1/messages?limit=1")
    assert status == 200 and messages["next"], messages
    status, body = await quiet.call("GET", f"{quiet.log}?cursor={messages['next']}")
    assert (status, body["error"]["code"]) == (422, "invalid_query"), body
    log = await _log(quiet, "limit=1")
    status, body = await quiet.call("GET", f"/v1/messages?cursor={log['next']}")
    assert (status, body["error"]["code"]) == (422, "invalid_query"), body
    long = _cursor("events", 2 ** 62 - 1)
    assert len(long) > 100  # a query text's usual bound: a cursor may be longer
    assert (await _log(quiet, f"cursor={long}"))["events"] == []  # all of them are after 2026-01-01
    for query in ("limit=0", "limit=1001", "status=lost", "type=message.lost", "created_since=yesterday",
                  f"cursor={_cursor('events', 0)}"):
        status, body = await quiet.call("GET", f"{quiet.log}?{query}")
        assert (status, body["error"]["code"]) == (422, "invalid_query"), (query, body)

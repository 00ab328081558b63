"""A newcomer's findings on issue 12 (events, intercepts, lists, numbers, idempotency, scoped tokens): each test
failed before its fix."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from tests.helpers import ALEX, PAT, PROXY, PROXY_2, wait_for
from tests.test_intercept import Platform, Reply, intercepted, outcome


class StreamingPlatform(Platform):
    """Answers each intercept 200 with its JSON body written in pieces, a moment apart (chunked, as a streaming
    framework or a proxy may send it)."""

    answer: bytes = b""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.received.append(json.loads(await request.text()))
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(self.answer), 10):
            await response.write(self.answer[start:start + 10])
            await asyncio.sleep(0.01)
        await response.write_eof()
        return response


@pytest.fixture
async def offered(aiohttp_server) -> Platform:
    """The platform's server of tests/test_intercept.py: verifies, records, answers each Reply in turn."""
    fake = Platform()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("/platform"))
    return fake


@pytest.fixture
async def streaming(aiohttp_server) -> StreamingPlatform:
    fake = StreamingPlatform()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("/platform"))
    return fake


async def test_an_intercept_answer_in_several_chunks_is_read_whole(start_gateway, streaming):
    streaming.answer = json.dumps({"body": "Yes, one parking space (call the office)."}).encode()
    # Time enough for the chunks on a loaded machine: past the timeout the text goes as written (fail open).
    gateway, _, _ = await intercepted(start_gateway, streaming, intercept_timeout=5.0)
    assert (await gateway.sms(ALEX, PROXY, "Yes, one space. Call me at 555 0100."))[0] == 200
    assert await gateway.delivered_to(PAT) == ["Yes, one parking space (call the office)."]
    assert await outcome(gateway) == "rewritten"


@pytest.mark.parametrize("field, value", [
    ("since", "0001-01-01T00:00:00+01:00"),  # before year 1 once in UTC: Python cannot hand it to Postgres
    ("until", "9999-12-31T23:59:59-01:00"),  # past 9999 once in UTC
    ("since", "2026-11-29T23:00:00"),  # no offset
    ("until", "tomorrow"),
])
async def test_a_bulk_replay_with_an_odd_time_is_refused_not_a_500(gateway, field, value):
    community = await gateway.community()
    status, body = await gateway.call("POST", f"/v1/communities/{community['id']}/events/replay", {field: value})
    assert (status, body["error"]["code"]) == (422, "invalid_field"), body


@pytest.mark.parametrize("redirect", [302, 307, 308])
async def test_an_event_receiver_that_redirects_is_not_followed_nor_counted_delivered(gateway, aiohttp_server,
                                                                                      redirect):
    """A redirect is not the receiver's 2xx: following it posts the signed event (full numbers, bodies) to another
    address, or (302) turns it into a GET that any page answers 200, and the event is counted delivered unread."""
    elsewhere: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        return web.Response(status=redirect, headers={"Location": "/elsewhere"})

    async def other(request: web.Request) -> web.Response:
        elsewhere.append(request.method)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_route("*", "/elsewhere", other)
    server = await aiohttp_server(app)
    community = await gateway.community(event_url=str(server.make_url("/hook")))
    await gateway.conversation(community["id"])

    async def tried():
        status, body = await gateway.call("GET", f"/v1/communities/{community['id']}/events")
        return [e for e in body["events"] if e["status"] == "delivered" or e["last_error"]]

    [tried_once, *_] = await wait_for(tried, what="a delivery tried")
    assert elsewhere == []
    assert tried_once["status"] != "delivered" and tried_once["last_error"] == f"answered {redirect}"


async def test_a_participant_cannot_be_another_community_s_number(gateway):
    """A conversation in A with B's number as a participant relays A's texts into B's number, which B answers
    (out of session, auto-reply) back into A's conversation: a loop between two of our numbers."""
    a = await gateway.community(numbers=(PROXY,))
    await gateway.community(numbers=(PROXY_2,))
    status, body = await gateway.call("POST", "/v1/conversations", {
        "community_id": a["id"], "prospect": {"phone": PROXY_2, "name": "B"},
        "advocate": {"phone": ALEX, "name": "Alex"}, "message": "hi"})
    assert (status, body["error"]["code"]) == (422, "participant_is_proxy"), body


async def test_a_number_in_an_open_conversation_as_a_participant_is_not_added(gateway, db):
    """Adding a participant's phone as a community's number would make it relay through itself, which a start
    refuses (participant_is_proxy)."""
    community = await gateway.community(numbers=(PROXY,))
    await gateway.conversation(community["id"])
    status, body = await gateway.call("POST", f"/v1/communities/{community['id']}/numbers", {"phone": PAT})
    assert (status, body["error"]["code"]) == (409, "number_in_use"), body
    assert await db.fetchval("SELECT count(*) FROM community_numbers WHERE phone = $1", PAT) == 0


@pytest.mark.parametrize("own", ["mine", "another community's"])
async def test_a_code_is_not_sent_to_one_of_the_gateway_s_numbers(gateway, db, own):
    """A code texted from our number to our number comes back in as a text to the gateway."""
    await gateway.community(numbers=(PROXY,))
    await gateway.community(numbers=(PROXY_2,))
    phone = PROXY if own == "mine" else PROXY_2
    status, body = await gateway.call("POST", "/v1/verifications", {"community_id": 1, "phone": phone})
    assert (status, body["error"]["code"]) == (422, "invalid_number"), body
    assert await db.fetchval("SELECT count(*) FROM verifications") == 0


async def test_a_rewrite_answered_after_its_number_was_removed_sends_nothing(start_gateway, offered, db):
    """The number's removal cancels what waits to go from it, the intercepted text too; a rewrite answered after
    that must not store new texts from a number the community no longer has."""
    gate = asyncio.Event()
    offered.replies.append(Reply(json={"body": "Rewritten."}, gate=gate))
    gateway, community, conversation = await intercepted(start_gateway, offered)
    assert (await gateway.call("POST", f"/v1/communities/{community['id']}/numbers", {"phone": PROXY_2}))[0] == 201
    await gateway.sms(ALEX, PROXY, "Call me at 555 0100.")
    await wait_for(lambda: offered.got(1), what="the text offered")
    status, body = await gateway.call("DELETE", f"/v1/communities/{community['id']}/numbers/{PROXY}"
                                                "?close_conversations=true")
    assert (status, body["closed_conversations"]) == (200, [conversation["id"]]), body
    gate.set()
    await wait_for(lambda: outcome(gateway), what="the callback finished")
    await asyncio.sleep(0.3)
    assert await db.fetchval("SELECT count(*) FROM messages WHERE from_number = $1 AND status <> 'canceled' "
                             "AND direction = 'outbound' AND kind = 'relay'", PROXY) == 0
    assert gateway.carrier.bodies_to(PAT) == []

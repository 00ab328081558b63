"""A second newcomer's findings on issue 12 (the platform's side), tried from the README alone: each a
reproduction over HTTP on real servers, written before its fix."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime, timezone

import pytest
from aiohttp import ClientSession, web
from standardwebhooks import Webhook

from gateway.config import from_dict
from gateway.ops import logs
from tests.helpers import PROXY, PROXY_2, TOKEN, wait_for


@pytest.mark.parametrize("written", ["(415) 555-2671", "415.555.2671", "415 555 2671", "1-415-555-2671"])
async def test_a_phone_in_a_path_is_masked_in_the_log_however_it_is_written(gateway, capsys, written):
    """A national phone in a path (the README: "A phone may be national") reached the log line of the refusal
    as it came: only runs of 10-15 digits were masked."""
    community = await gateway.community(numbers=(PROXY,))
    logs.configure(from_dict({"log": {"format": "json", "level": "info"}}))
    capsys.readouterr()
    for path in (f"/v1/communities/{community['id']}/numbers/{written}", f"/v1/communities/999/numbers/{written}",
                 f"/v1/communities/{community['id']}/allow-list/{written}",
                 f"/v1/communities/{community['id']}/dnd/{written}"):
        status, _ = await gateway.call("DELETE", path)
        assert status in (404, 409, 422)
    paths = [line["path"] for line in map(json.loads, capsys.readouterr().out.splitlines())
             if line["event"] == "request_refused"]
    assert len(paths) == 4 and not [path for path in paths if "555" in path.replace("+1415***2671", "")]


class FirstHangs:
    """A receiver whose first POST hangs until released and then answers 500; every later one answers 204."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.release = asyncio.Event()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(request.headers["webhook-id"])
        if len(self.received) == 1:
            await self.release.wait()
            return web.Response(status=500)
        return web.Response(status=204)


async def test_a_replay_while_the_delivery_is_in_flight_is_not_undone_by_that_try_s_answer(start_gateway,
                                                                                          aiohttp_server):
    """Replaying a delivery whose try was still hanging: the replay posted it again (204: delivered), then the
    hanging try's late 500 was recorded over it, and the log said failed for an event the receiver had."""
    receiver = FirstHangs()
    app = web.Application()
    app.router.add_post("/events", receiver.handle)
    receiver.url = str((await aiohttp_server(app)).make_url("/events"))
    gateway = await start_gateway(hooks={"interval": 0.05, "timeout": 5.0, "max_attempts": 1})
    community = await gateway.community(event_url=receiver.url, event_types=["conversation.opened"])
    path = f"/v1/communities/{community['id']}/events"
    await gateway.conversation(community["id"])
    await wait_for(lambda: _some(receiver.received), what="the first try, hanging")
    _, log_ = await gateway.call("GET", path)
    [delivery] = log_["events"]
    assert (await gateway.call("POST", f"{path}/{delivery['id']}/replay"))[0] == 202
    await wait_for(lambda: _some(receiver.received[1:]), what="the replay's post")
    await wait_for(lambda: _status(gateway, path, "delivered"), what="delivered by the replay")
    receiver.release.set()  # the first try answers 500 now, after the replay delivered it
    await asyncio.sleep(0.5)
    _, log_ = await gateway.call("GET", path)
    assert [(e["status"], e["attempts"]) for e in log_["events"]] == [("delivered", 1)]
    assert receiver.received == [delivery["webhook_id"]] * 2


async def _some(values):
    return values or None


async def _status(gateway, path: str, status: str):
    _, body = await gateway.call("GET", path)
    return body["events"] if [e["status"] for e in body["events"]] == [status] else None


async def test_two_idempotency_keys_on_one_request_are_refused(gateway):
    """Two Idempotency-Key headers (a client and a proxy each adding one): the first was used and the second
    silently ignored, so a retry carrying only the second ran the request again and texted twice."""
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    path, body = f"/v1/conversations/{conversation['id']}/messages", {"from": "advocate", "body": "See you."}
    response = await gateway.client.post(path, json=body, headers=[
        ("Authorization", f"Bearer {TOKEN}"), ("Idempotency-Key", "k2"), ("Idempotency-Key", "k3")])
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "invalid_idempotency_key"
    assert [m["kind"] for m in await gateway.messages(conversation["id"])] == ["notification"]


async def test_the_example_receiver_prints_one_whole_line_per_event(receiver_process):
    """examples/event_receiver.py answers from many threads, and print() writes the line and its newline apart:
    events posted at once came out as "evt_aaa...evt_bbb... message.status_changed {...}" on one line."""
    start, lines = receiver_process
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    url = await start(secret)
    hook = Webhook(secret)
    async with ClientSession() as session:

        async def post(number: int) -> int:
            body = json.dumps({"type": "message.received", "timestamp": "2026-11-30T00:00:00Z",
                               "data": {"message_id": number, "body": "x" * 2000}})
            webhook_id, now = f"evt_{number:032x}", datetime.now(timezone.utc)
            headers = {"webhook-id": webhook_id, "webhook-timestamp": str(int(now.timestamp())),
                       "webhook-signature": hook.sign(webhook_id, now, body), "Content-Type": "application/json"}
            async with session.post(url, data=body, headers=headers) as response:
                return response.status

        assert set(await asyncio.gather(*(post(number) for number in range(300)))) == {204}
    await wait_for(lambda: _some(len(lines) > 300), what="a line per event")
    printed = [line for line in lines if line.startswith("evt_")]
    assert len(printed) == 300 and all(line.count("evt_") == 1 for line in printed)


@pytest.mark.parametrize("url", ["http://[::1/events", "http://127.0.0.1:99999/events", "http://:80/events",
                                 "http://@/events", "http://127.0.0.1:abc/events", "http://127.0.0.1:0/events",
                                 "http://xn--/events"])
@pytest.mark.parametrize("setting", ["event_url", "intercept_url", "out_of_session_url", "opt_out_webhook_url"])
async def test_a_url_the_gateway_could_never_post_to_is_refused(gateway, setting, url):
    """An unclosed IPv6 bracket was a 500 with a traceback in the log; a port out of range, or no host, was
    stored, and every event then failed all its tries with InvalidUrlClientError."""
    community = await gateway.community()
    status, body = await gateway.call("PATCH", f"/v1/communities/{community['id']}", json={setting: url})
    assert (status, body["error"]["code"]) == (422, "invalid_field")
    status, body = await gateway.call("POST", "/v1/communities", json={"name": "B", "numbers": ["+14155550111"],
                                                                       setting: url})
    assert (status, body["error"]["code"]) == (422, "invalid_field")


async def test_conversations_closed_by_removing_their_number_are_conversation_closed_events(start_gateway):
    """DELETE .../numbers/{phone}?close_conversations=true closed the number's conversations (reason
    number_removed) without a conversation.closed event: a platform that learns from events kept them open."""
    gateway = await start_gateway(hooks={"interval": 3600})  # stored, not posted: the log shows them
    community = await gateway.community(numbers=(PROXY, PROXY_2), event_url="http://127.0.0.1:9/events",
                                        event_types=["conversation.closed"])
    conversation = await gateway.conversation(community["id"])
    assert conversation["proxy_number"] == PROXY
    status, removed = await gateway.call(
        "DELETE", f"/v1/communities/{community['id']}/numbers/%2B{PROXY[1:]}?close_conversations=true")
    assert (status, removed["closed_conversations"]) == (200, [conversation["id"]])
    _, log_ = await gateway.call("GET", f"/v1/communities/{community['id']}/events")
    assert [(e["type"], e["payload"]["data"]) for e in log_["events"]] == [
        ("conversation.closed", {"community_id": community["id"], "conversation_id": conversation["id"],
                                 "reason": "number_removed"})]


class Moved:
    """The platform's old receiver, gone (410), and its new one (204); records which got each webhook-id."""

    def __init__(self) -> None:
        self.old: list[str] = []
        self.new: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        gone = request.match_info["path"] == "old"
        (self.old if gone else self.new).append(request.headers["webhook-id"])
        return web.Response(status=410 if gone else 204)


@pytest.mark.parametrize("one", [True, False])
async def test_a_replay_goes_to_the_community_s_url_of_now(start_gateway, aiohttp_server, one):
    """The README's 410 answer: the URL is the community's to change (PATCH its event_url), and what was refused
    is replayed from the log. The replay went to the old URL again (the delivery's stored one), answered 410
    again, and the moved receiver never got it."""
    receiver = Moved()
    app = web.Application()
    app.router.add_post("/{path}", receiver.handle)
    server = await aiohttp_server(app)
    gateway = await start_gateway(hooks={"interval": 0.05})
    community = await gateway.community(event_url=str(server.make_url("/old")), event_types=["conversation.opened"])
    path = f"/v1/communities/{community['id']}/events"
    await gateway.conversation(community["id"])
    [failed] = await wait_for(lambda: _status(gateway, path, "failed"), what="refused by the old receiver")
    status, _ = await gateway.call("PATCH", f"/v1/communities/{community['id']}",
                                   json={"event_url": str(server.make_url("/new"))})
    assert status == 200
    replay = (f"{path}/{failed['id']}/replay", None) if one else (f"{path}/replay", {"status": "failed"})
    assert (await gateway.call("POST", replay[0], json=replay[1]))[0] == 202
    [delivered] = await wait_for(lambda: _status(gateway, path, "delivered"), what="delivered to the new URL")
    assert (receiver.old, receiver.new) == ([failed["webhook_id"]], [failed["webhook_id"]])
    assert delivered["url"] == str(server.make_url("/new"))


def _codes(operation: dict, status: int) -> list[str]:
    answer = operation["responses"].get(str(status))
    return [] if answer is None else answer["content"]["application/json"]["schema"]["allOf"][1]["properties"][
        "error"]["properties"]["code"]["enum"]


async def test_the_contract_lists_the_idempotency_key_and_the_token_refusals_of_every_write(gateway):
    """Every POST takes an Idempotency-Key and answers 400/409/422 for it, and any write answers 403
    read_only_token to a read-only token, but /openapi.json named none of that but on the event secrets (the
    replay of one delivery listed no 400 and no 403 at all): a client generated from it knew no header."""
    status, contract = await gateway.call("GET", "/openapi.json")
    assert status == 200
    for path, operations in contract["paths"].items():
        for method, operation in operations.items():
            if not path.startswith("/v1/") or method == "get":
                continue
            assert "read_only_token" in _codes(operation, 403), (method, path)
            headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
            if "text/csv" in operation.get("requestBody", {}).get("content", {}):
                # A streamed body (the contacts import) is never read whole, so never hashed: it takes no key
                # (README "Idempotent requests"; an import is idempotent by itself), and says so.
                assert headers == [] and "idempotency_key_reused" not in _codes(operation, 422), (method, path)
            elif method == "post":
                assert headers == ["Idempotency-Key"], (method, path)
                assert ("invalid_idempotency_key" in _codes(operation, 400)
                        and "idempotency_key_in_flight" in _codes(operation, 409)
                        and "idempotency_key_reused" in _codes(operation, 422)), (method, path)
    assert "outside_token_scope" in _codes(contract["paths"]["/v1/communities"]["post"], 403)

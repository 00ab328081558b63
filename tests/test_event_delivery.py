"""Event delivery (issue 12): a hanging receiver holds up only its own deliveries; a 410 Gone stops a delivery
at once; what an intercept URL decides is an event; finished deliveries and callbacks are deleted after
hooks.retention_days. Every event received by a local server and verified with the standardwebhooks library."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import pytest
from aiohttp import web
from standardwebhooks import Webhook

from gateway.platform import events as hooks
from tests.helpers import ALEX, PAT, PROXY, PROXY_2, SAM, wait_for

FAST = {"interval": 0.05, "intercept_timeout": 0.5, "intercept_retry_delay": 0.1, "intercept_attempts": 2}


@dataclass
class Receivers:
    """One local server playing several receivers, by path: /fast answers 204 at once, /slow hangs until the
    test ends, /gone answers 410; /block, /rewrite, /fail and /ok answer intercepts (403, a new body, 500, 200).
    Every POST is recorded with its path and arrival time."""

    received: list[dict] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    before: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)  # path -> done before answering
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{path}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        self.received.append({"path": path, "at": time.monotonic(), "body": await request.text(),
                              "headers": dict(request.headers)})
        if path == "slow":
            await self.release.wait()
        if path in self.before:
            await self.before[path]()
        answers = {"gone": web.Response(status=410), "block": web.Response(status=403),
                   "fail": web.Response(status=500), "rewrite": web.json_response({"body": "Rewritten"})}
        return answers.get(path, web.Response(status=204))

    def at(self, path: str) -> list[dict]:
        return [post for post in self.received if post["path"] == path]

    def events(self, secret: str, path: str = "events") -> list[dict]:
        """The verified events posted to path (raises on a bad signature)."""
        return [Webhook(secret).verify(post["body"], post["headers"]) for post in self.at(path)]


@pytest.fixture
async def receivers(aiohttp_server):
    fake = Receivers()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("")).rstrip("/")
    yield fake
    fake.release.set()


async def _secret(gateway, community_id: int) -> str:
    status, body = await gateway.call("GET", f"/v1/communities/{community_id}/event-secret")
    assert status == 200, body
    return body["secret"]


async def _some(values):
    return values or None


async def test_a_hanging_receiver_does_not_delay_another_community_s_events(start_gateway, receivers):
    gateway = await start_gateway(hooks={"interval": 0.05, "timeout": 5.0})
    slow = await gateway.community(numbers=(PROXY,), event_url=f"{receivers.url}/slow",
                                   event_types=["conversation.opened"])
    fast = await gateway.community(numbers=(PROXY_2,), name="Fast", event_url=f"{receivers.url}/fast",
                                   event_types=["conversation.opened"])
    await gateway.conversation(slow["id"])
    await wait_for(lambda: _some(receivers.at("slow")), what="the slow receiver's post, hanging")
    started = time.monotonic()
    await gateway.conversation(fast["id"], prospect=(SAM, "Sam"))
    [arrived] = await wait_for(lambda: _some(receivers.at("fast")), timeout=4.0, what="the fast receiver's event")
    # Well within the slow post's 5-second timeout: the fast event did not wait for it.
    assert arrived["at"] - started < 2.5
    assert Webhook(await _secret(gateway, fast["id"])).verify(arrived["body"], arrived["headers"])["data"][
        "community_id"] == fast["id"]
    status, log = await gateway.call("GET", f"/v1/communities/{fast['id']}/events")
    assert [(e["status"], e["attempts"]) for e in log["events"]] == [("delivered", 1)]
    status, log = await gateway.call("GET", f"/v1/communities/{slow['id']}/events")
    assert [(e["status"], e["last_error"]) for e in log["events"]] == [("pending", None)]  # still in flight


async def _failed(gateway, path: str, count: int):
    status, body = await gateway.call("GET", path + "?status=failed")
    return body["events"] if len(body["events"]) == count else None


async def test_a_410_stops_that_delivery_at_once_and_the_next_is_still_tried(start_gateway, receivers):
    gateway = await start_gateway(hooks={"interval": 0.05})
    community = await gateway.community(event_url=f"{receivers.url}/gone", event_types=["conversation.opened"])
    path = f"/v1/communities/{community['id']}/events"
    await gateway.conversation(community["id"])
    await wait_for(lambda: _failed(gateway, path, 1), what="the first delivery failed")
    await gateway.conversation(community["id"], prospect=(SAM, "Sam"))  # the same URL: tried all the same
    failed = await wait_for(lambda: _failed(gateway, path, 2), what="the second delivery failed")
    assert [(e["attempts"], e["last_error"]) for e in failed] == [(1, "gone: the receiver answered 410")] * 2
    await asyncio.sleep(1.5)  # past the first retry's wait (1 to 2 s): none comes
    assert len(receivers.at("gone")) == 2
    assert gateway.metrics.events.labels("conversation.opened", "gone")._value.get() == 2


async def _intercepted(gateway, receivers, secret: str, count: int) -> list[dict] | None:
    found = [event for event in receivers.events(secret) if "intercept" in event["data"]]
    return found if len(found) >= count else None


async def test_what_the_intercept_decides_is_an_event(start_gateway, receivers):
    gateway = await start_gateway(hooks=FAST)
    community = await gateway.community(event_url=f"{receivers.url}/events",
                                        event_types=["message.relayed", "message.blocked", "message.held"])
    secret = await _secret(gateway, community["id"])
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    steps = [("block", "relay", "message.blocked", "blocked", "intercepted", "blocked"),
             ("rewrite", "relay", "message.relayed", "queued", None, "rewritten"),
             ("fail", "hold", "message.held", "held", "intercept_unanswered", "unanswered_held"),
             ("fail", "relay", "message.relayed", "queued", None, "unanswered_relayed"),
             ("ok", "relay", "message.relayed", "queued", None, "relayed")]
    for i, (path, policy, *_) in enumerate(steps):
        status, body = await gateway.call("PATCH", f"/v1/communities/{community['id']}",
                                          {"intercept_url": f"{receivers.url}/{path}", "intercept_policy": policy})
        assert status == 200, body
        await gateway.sms(PAT, PROXY, f"Text {i}")
        await wait_for(lambda: _intercepted(gateway, receivers, secret, i + 1), what=f"the {path} event")
    found = await _intercepted(gateway, receivers, secret, len(steps))
    for event, (path, policy, kind, status, reason, outcome) in zip(found, steps):
        data = event["data"]
        assert (event["type"], data["status"], data["reason"], data["intercept"]) == (kind, status, reason, outcome)
        assert (data["conversation_id"], data["to"], data["from"]) == (conversation["id"], ALEX, PROXY)
    assert found[1]["data"]["body"] == "Rewritten" and found[4]["data"]["body"] == "Text 4"
    assert found[0]["data"]["inbound_message_id"] < found[1]["data"]["inbound_message_id"]


async def test_a_text_relayed_into_the_conversation_the_platform_opened_is_an_event(start_gateway, receivers):
    gateway = await start_gateway(hooks=FAST)
    community = await gateway.community(event_url=f"{receivers.url}/events", event_types=["message.relayed"],
                                        out_of_session_url=f"{receivers.url}/oos")
    secret = await _secret(gateway, community["id"])
    opened = {}

    async def open_conversation() -> None:  # the platform opens a conversation, then answers 2xx
        opened.update(await gateway.conversation(community["id"], prospect=(SAM, "Sam")))

    receivers.before["oos"] = open_conversation
    await gateway.sms(SAM, PROXY, "Is the flat still free?")
    [relayed] = await wait_for(lambda: _some(receivers.events(secret)), what="the relayed text's event")
    data = relayed["data"]
    assert (relayed["type"], data["conversation_id"], data["from"], data["to"], data["body"], data["status"]) == (
        "message.relayed", opened["id"], PROXY, ALEX, "Is the flat still free?", "queued")
    inbound = await gateway.pool.fetchval("SELECT id FROM messages WHERE kind = 'inbound'")
    assert data["inbound_message_id"] == inbound and "intercept" not in data


async def test_finished_deliveries_and_callbacks_are_deleted_after_the_retention(start_gateway, receivers, db):
    gateway = await start_gateway(hooks=FAST)
    community = await gateway.community(event_url=f"{receivers.url}/events", intercept_url=f"{receivers.url}/ok")
    await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    await gateway.sms(PAT, PROXY, "Offered, then relayed")
    await gateway.delivered_to(ALEX, 2)
    # The last events are the two sends' "accepted" (the notification's and the relayed copy's), stored after the
    # carrier has the texts: wait for them too, or one could arrive after the count below.
    await wait_for(lambda: _all_finished(db, status_changes=2), what="every delivery finished")
    finished = await db.fetchval("SELECT count(*) FROM webhook_deliveries")
    await db.execute("UPDATE webhook_deliveries SET updated_at = now() - interval '31 days'")
    await db.execute("UPDATE platform_callbacks SET finished_at = now() - interval '31 days'")
    # A pending delivery stays, however old; so do recent ones.
    await db.execute("UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now() + interval '1 day' "
                     "WHERE id = (SELECT min(id) FROM webhook_deliveries)")
    await gateway.call("POST", f"/v1/conversations/{(await _open(db))}/close")
    await wait_for(lambda: _recent_delivered(db), what="a recent delivery")
    assert await hooks.forget_old(gateway.pool, retention_days=30, batch=2) == (finished - 1) + 1  # and the callback
    assert await db.fetchval("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'") == 1
    assert await db.fetchval("SELECT count(*) FROM webhook_deliveries WHERE updated_at > now() - interval '1 hour' "
                             "AND status = 'delivered'") == 1
    assert await db.fetchval("SELECT count(*) FROM webhook_deliveries") == 2
    assert await db.fetchval("SELECT count(*) FROM platform_callbacks") == 0
    assert await hooks.forget_old(gateway.pool, retention_days=30) == 0


async def _all_finished(db, status_changes: int = 0):
    return await db.fetchval("SELECT count(*) > 0 AND bool_and(status = 'delivered') AND count(*) FILTER "
                             "(WHERE event = 'message.status_changed') >= $1 FROM webhook_deliveries", status_changes)


async def _open(db):
    return await db.fetchval("SELECT id FROM conversations WHERE status = 'open'")


async def _recent_delivered(db):
    return await db.fetchval("SELECT count(*) = 1 FROM webhook_deliveries WHERE status = 'delivered' "
                             "AND updated_at > now() - interval '1 hour'")

"""A community's intercept URL: a local server plays the platform, checks every POST's Standard Webhooks signature,
and answers 2xx (relay), 2xx with a body (rewrite), 403 (block), slowly or with a 5xx (the community's policy)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from aiohttp import web
from standardwebhooks import Webhook

from tests.fakes import unwrap
from tests.helpers import ALEX, PAT, PROXY, wait_for

SECRET = "test-webhook-secret"  # hooks.secret in tests/conftest.py make_config
FAST = {"interval": 0.05, "intercept_timeout": 0.5, "intercept_retry_delay": 0.1, "intercept_attempts": 2}


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    delay: float = 0.0
    gate: asyncio.Event | None = None  # answer only once it is set
    before: Callable[[dict], Awaitable[None]] | None = None  # what the platform does before answering


@dataclass
class Platform:
    """The platform's server: verifies each POST with the standardwebhooks library and the community's secret
    (derived from the gateway's webhook secret, written out here), records it, answers the next Reply (200
    after)."""

    secret: str = SECRET
    replies: list[Reply] = field(default_factory=list)
    received: list[dict] = field(default_factory=list)  # the verified payloads, in order
    headers: list[dict] = field(default_factory=list)
    forged: int = 0  # POSTs whose signature did not verify
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/platform", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        try:
            payload = Webhook(self.community_secret()).verify(body, dict(request.headers))
        except Exception:
            self.forged += 1
            return web.Response(status=400)
        self.received.append(payload)
        self.headers.append(dict(request.headers))
        reply = self.replies.pop(0) if self.replies else Reply()
        if reply.before:
            await reply.before(payload)
        if reply.gate:
            await reply.gate.wait()
        await asyncio.sleep(reply.delay)
        if reply.json is not None:
            return web.json_response(reply.json, status=reply.status)
        return web.Response(status=reply.status)

    def community_secret(self, community_id: int = 1) -> str:
        """"whsec_" + base64(HMAC-SHA256(GATEWAY_WEBHOOK_SECRET, "events:community:<id>")), as the README says."""
        digest = hmac.new(self.secret.encode(), f"events:community:{community_id}".encode(), hashlib.sha256).digest()
        return "whsec_" + base64.b64encode(digest).decode()

    async def got(self, count: int) -> bool:
        return len(self.received) >= count


async def intercepted(start_gateway, platform: Platform, policy: str | None = None, **hooks):
    """A gateway, a community whose texts are offered to the platform, and a conversation Pat and Alex."""
    gateway = await start_gateway(hooks={**FAST, **hooks})
    settings = {"intercept_url": platform.url} | ({"intercept_policy": policy} if policy else {})
    community = await gateway.community(**settings)
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)  # the notification: the platform's own words, never intercepted
    return gateway, community, conversation


async def relayed_parts(gateway, conversation_id: int) -> list[dict]:
    return [m for m in await gateway.messages(conversation_id) if m["kind"] == "relay"]


async def outcome(gateway, status: str = "") -> str | None:
    return await gateway.pool.fetchval("SELECT outcome FROM platform_callbacks WHERE kind = 'intercept' "
                                       "ORDER BY id DESC LIMIT 1")


def counted(gateway, outcome_: str, kind: str = "intercept") -> float:
    return gateway.metrics.callbacks.labels(kind, outcome_)._value.get()


async def test_a_2xx_relays_the_text_and_the_payload_names_it(start_gateway, platform):
    gateway, community, conversation = await intercepted(start_gateway, platform)
    assert (community["intercept_url"], community["intercept_policy"]) == (platform.url, "relay")
    assert (await gateway.sms(ALEX, PROXY, "Yes, one space."))[0] == 200
    assert await gateway.delivered_to(PAT) == ["Yes, one space."]
    [payload] = platform.received
    assert payload["type"] == "message.intercept"
    data = payload["data"]
    assert data["conversation_id"] == conversation["id"] and data["community_id"] == community["id"]
    assert {k: data["message"][k] for k in ("from", "to", "body")} == {"from": ALEX, "to": PROXY,
                                                                       "body": "Yes, one space."}
    assert platform.headers[0]["webhook-id"] == "intercept_1"
    assert platform.forged == 0
    await wait_for(lambda: outcome(gateway), what="the callback finished")
    assert await outcome(gateway) == "relayed" and counted(gateway, "relayed") == 1


async def test_a_2xx_with_a_body_relays_that_body_instead(start_gateway, platform):
    gateway, _, conversation = await intercepted(start_gateway, platform)
    platform.replies.append(Reply(json={"body": "Yes, one parking space (call the office)."}))
    await gateway.sms(ALEX, PROXY, "Yes, one space. Call me at 555 0100.")
    assert await gateway.delivered_to(PAT) == ["Yes, one parking space (call the office)."]
    parts = await relayed_parts(gateway, conversation["id"])
    assert [(p["body"], p["status"]) for p in parts][0] == ("Yes, one space. Call me at 555 0100.", "canceled")
    assert unwrap(parts[1]["body"]) == "Yes, one parking space (call the office)."
    assert await outcome(gateway) == "rewritten"


async def test_a_403_blocks_the_text(start_gateway, platform):
    gateway, _, conversation = await intercepted(start_gateway, platform)
    platform.replies.append(Reply(status=403))
    assert (await gateway.sms(ALEX, PROXY, "Here is my number: 555 0100"))[0] == 200
    await wait_for(lambda: outcome(gateway), what="the callback finished")
    [part] = await relayed_parts(gateway, conversation["id"])
    assert (part["status"], part["status_reason"]) == ("blocked", "intercepted")
    await asyncio.sleep(0.3)
    assert gateway.carrier.bodies_to(PAT) == []
    assert await outcome(gateway) == "blocked"
    assert gateway.metrics.blocked.labels("intercepted")._value.get() == 1


async def test_the_carrier_is_answered_before_the_platform_answers(start_gateway, platform):
    gateway, _, conversation = await intercepted(start_gateway, platform, intercept_timeout=5.0)
    gate = asyncio.Event()
    platform.replies.append(Reply(gate=gate))
    began = time.monotonic()
    assert (await gateway.sms(ALEX, PROXY, "On my way."))[0] == 200
    assert time.monotonic() - began < 1.0
    await wait_for(lambda: platform.got(1), what="the text offered to the platform")
    # While the platform thinks, the relayed text waits, held.
    [part] = await relayed_parts(gateway, conversation["id"])
    assert (part["status"], part["status_reason"]) == ("held", "intercepting")
    gate.set()
    assert await gateway.delivered_to(PAT) == ["On my way."]


async def test_no_answer_with_policy_relay_relays_after_every_try(start_gateway, platform):
    gateway, _, _ = await intercepted(start_gateway, platform)
    platform.replies.extend([Reply(delay=2.0), Reply(status=503)])
    await gateway.sms(ALEX, PROXY, "Still there?")
    assert await gateway.delivered_to(PAT, timeout=10) == ["Still there?"]
    assert len(platform.received) == 2  # a timeout, then a 5xx: intercept_attempts tries
    assert platform.headers[0]["webhook-id"] == platform.headers[1]["webhook-id"]  # one callback, tried twice
    assert await outcome(gateway) == "unanswered_relayed"
    assert gateway.metrics.callback_tries.labels("intercept", "timeout")._value.get() == 1
    assert gateway.metrics.callback_tries.labels("intercept", "5xx")._value.get() == 1


async def test_no_answer_with_policy_hold_holds_until_released(start_gateway, platform):
    gateway, community, conversation = await intercepted(start_gateway, platform, policy="hold")
    platform.replies.extend([Reply(status=500), Reply(status=500)])
    await gateway.sms(ALEX, PROXY, "Is the rent due Monday?")
    await wait_for(lambda: outcome(gateway), what="the callback finished")
    assert await outcome(gateway) == "unanswered_held"
    [part] = await relayed_parts(gateway, conversation["id"])
    assert (part["status"], part["status_reason"]) == ("held", "intercept_unanswered")
    path = f"/v1/communities/{community['id']}/held"
    status, held = await gateway.call("GET", path + "?reason=intercept_unanswered")
    assert status == 200 and [m["id"] for m in held["messages"]] == [part["id"]]
    status, released = await gateway.call("POST", path + "/release", {"reason": "intercept_unanswered"})
    assert status == 200 and released == {"released": [part["id"]]}
    assert await gateway.delivered_to(PAT) == ["Is the rent due Monday?"]


async def test_another_answer_applies_the_policy_at_once(start_gateway, platform):
    gateway, _, _ = await intercepted(start_gateway, platform, policy="hold")
    platform.replies.append(Reply(status=200, json={"body": 42}))  # unreadable: not retried
    await gateway.sms(ALEX, PROXY, "Hello")
    await wait_for(lambda: outcome(gateway), what="the callback finished")
    assert await outcome(gateway) == "unanswered_held" and len(platform.received) == 1


async def test_a_conversations_texts_are_offered_in_order(start_gateway, platform):
    gateway, _, _ = await intercepted(start_gateway, platform, intercept_timeout=5.0)
    gate = asyncio.Event()
    platform.replies.append(Reply(gate=gate))
    await gateway.sms(ALEX, PROXY, "first")
    await gateway.sms(ALEX, PROXY, "second")
    await wait_for(lambda: platform.got(1), what="the first text offered")
    await asyncio.sleep(0.3)
    assert len(platform.received) == 1  # the second waits for the first's answer
    gate.set()
    assert sorted(await gateway.delivered_to(PAT, 2)) == ["first", "second"]
    assert [payload["data"]["message"]["body"] for payload in platform.received] == ["first", "second"]


async def test_the_settings_are_checked_and_cleared(gateway):
    community = await gateway.community()
    assert (community["intercept_url"], community["intercept_policy"], community["out_of_session_url"]) == (
        None, "relay", None)
    path = f"/v1/communities/{community['id']}"
    for bad in ({"intercept_url": "ftp://x"}, {"intercept_policy": "maybe"}, {"intercept_policy": None},
                {"out_of_session_url": "no url"}):
        status, body = await gateway.call("PATCH", path, bad)
        assert status == 422 and body["error"]["code"] == "invalid_field", bad
    status, body = await gateway.call("PATCH", path, {"intercept_url": "https://p.example/i", "intercept_policy": "hold"})
    assert status == 200 and (body["intercept_url"], body["intercept_policy"]) == ("https://p.example/i", "hold")
    status, body = await gateway.call("PATCH", path, {"intercept_url": None})
    assert status == 200 and body["intercept_url"] is None
    status, body = await gateway.call("POST", path + "/held/release", {"reason": "intercepting"})
    assert status == 422 and body["error"]["code"] == "invalid_field"


async def test_a_gateway_killed_mid_intercept_loses_nothing(clean, fake_twilio, aiohttp_server, tmp_path, db):
    from tests.test_scale_out import ROOT, Process, _call, _sms

    config = tmp_path / "gateway.toml"
    config.write_text((ROOT / "config.toml").read_text()
                      .replace("intercept_timeout = 5.0", "intercept_timeout = 1.0")
                      .replace("interval = 1.0 ", "interval = 0.1 ")
                      .replace("per_number_rate = 1.0", "per_number_rate = 1000.0"))
    platform = Platform(secret="w" * 16)  # the processes' GATEWAY_WEBHOOK_SECRET
    platform.url = str((await aiohttp_server(platform.app())).make_url("/platform"))
    gate = asyncio.Event()
    platform.replies.append(Reply(gate=gate))  # the first offer is never answered: its process dies first
    first = await Process(clean, fake_twilio.url, config).start()
    second = Process(clean, fake_twilio.url, config)
    try:
        status, community = await _call(first, "POST", "/v1/communities", {
            "name": "Acme Housing", "numbers": [PROXY], "mode": "live", "require_verification": False,
            "intercept_url": platform.url})
        assert status == 201, community
        status, _ = await _call(first, "POST", "/v1/conversations", {
            "community_id": community["id"], "prospect": {"phone": PAT, "name": "Pat"},
            "advocate": {"phone": ALEX, "name": "Alex"}, "message": "Is parking included?"})
        assert status == 201
        assert await _sms(first, None, ALEX, "Yes, one space.", "SM" + "1" * 32) == 200
        await wait_for(lambda: platform.got(1), what="the text offered by the first process")
        await first.stop(signal.SIGKILL)
        assert await db.fetchval("SELECT status_reason FROM messages WHERE kind = 'relay'") == "intercepting"
        await second.start()
        await wait_for(lambda: _relayed_to(fake_twilio, PAT), timeout=20, what="the text relayed by the second")
        assert len(platform.received) == 2 and platform.forged == 0
        assert platform.headers[0]["webhook-id"] == platform.headers[1]["webhook-id"]
        assert await db.fetchval("SELECT outcome FROM platform_callbacks") == "relayed"
    finally:
        gate.set()
        for process in (first, second):
            await process.stop(signal.SIGKILL)


async def _relayed_to(fake, phone: str) -> bool:
    return [unwrap(body) for body in fake.bodies_to(phone)] == ["Yes, one space."]

"""Conversations that expire after inactivity, the sandbox carrier, and the operations endpoints."""

import re

from gateway.routing.table import route_key
from tests.fakes import unwrap
from tests.helpers import ALEX, PAT, PROXY, PROXY_2, SAM, TOKEN, wait_for


async def test_idle_conversation_expires_and_its_routes_go(gateway, db, redis_client):
    community = await gateway.community(inactivity_days=2)
    idle = await gateway.conversation(community["id"])
    await db.execute("UPDATE conversations SET last_activity_at = now() - interval '3 days' WHERE id = $1",
                     idle["id"])

    async def expired():
        status, body = await gateway.call("GET", f"/v1/conversations/{idle['id']}")
        return body if body["status"] == "expired" else None

    body = await wait_for(expired, what="expiry")
    assert body["closed_reason"] == "inactive"
    assert await redis_client.exists(route_key(PROXY, PAT), route_key(PROXY, ALEX)) == 0
    await gateway.sms(PAT, PROXY, "still there?")
    assert await gateway.delivered_to(PAT) == ["This number only relays active conversations."]


async def test_recent_activity_keeps_a_conversation_open(gateway, db):
    community = await gateway.community(numbers=[PROXY, PROXY_2], inactivity_days=2)
    conversation = await gateway.conversation(community["id"])
    idle = await gateway.conversation(community["id"], prospect=(SAM, "Sam"))  # shows that a pass has run
    await db.execute("UPDATE conversations SET last_activity_at = now() - interval '47 hours' WHERE id = $1",
                     conversation["id"])
    await gateway.sms(PAT, PROXY, "bump")  # activity resets the clock
    await gateway.delivered_to(ALEX, 3)
    # One statement: any expiry pass that sees the idle conversation past its 2 days sees this one 2 hours old.
    await db.execute("UPDATE conversations SET last_activity_at = CASE WHEN id = $1"
                     " THEN last_activity_at - interval '2 hours' ELSE now() - interval '3 days' END"
                     " WHERE id IN ($1, $2)", conversation["id"], idle["id"])

    async def expired():
        status, body = await gateway.call("GET", f"/v1/conversations/{idle['id']}")
        return body["status"] == "expired"

    await wait_for(expired, what="an expiry pass")
    status, body = await gateway.call("GET", f"/v1/conversations/{conversation['id']}")
    assert (status, body["status"]) == (200, "open")
    assert gateway.metrics.registry.get_sample_value("gateway_conversations_expired_total") == 1


async def test_sandbox_plays_both_phones_and_calls_back(start_gateway):
    gateway = await start_gateway(kind="sandbox")
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    status, body = await gateway.call("POST", "/sandbox/inbound", {"from": ALEX, "to": PROXY, "body": "Hi Pat!"})
    assert status == 200 and body["outcome"] == "relayed"

    async def all_delivered():
        messages = [m for m in await gateway.messages(conversation["id"]) if m["direction"] == "outbound"]
        return len(messages) == 2 and all(m["status"] == "delivered" for m in messages)

    await wait_for(all_delivered, what="sandbox delivery callbacks")
    [relayed] = [m for m in await gateway.messages(conversation["id"]) if m["kind"] == "relay"]
    assert (relayed["to"], unwrap(relayed["body"])) == (PAT, "Hi Pat!")
    history = (await gateway.message(relayed["id"]))["history"]
    assert [h["status"] for h in history] == ["queued", "sent", "delivered"] or \
        [h["status"] for h in history] == ["queued", "accepted", "sent", "delivered"]


async def test_sandbox_inbound_validates(start_gateway):
    gateway = await start_gateway(kind="sandbox")
    status, body = await gateway.call("POST", "/sandbox/inbound", {"from": "nope", "to": PROXY, "body": "x"})
    assert (status, body["error"]["code"]) == (422, "invalid_number")
    status, body = await gateway.call("POST", "/sandbox/inbound", {"from": PAT, "to": PROXY, "body": "x"}, token=None)
    assert status == 401


async def test_sandbox_route_exists_only_in_sandbox_mode(gateway):
    status, body = await gateway.call("POST", "/sandbox/inbound", {"from": PAT, "to": PROXY, "body": "x"})
    assert status == 404


async def test_health_readiness_and_metrics(gateway):
    community = await gateway.community()
    await gateway.conversation(community["id"])
    await gateway.sms(PAT, PROXY, "hello")
    await gateway.sms(PAT, PROXY, "forged", signed=False)
    await gateway.delivered_to(ALEX, 2)
    assert await gateway.call("GET", "/healthz", token=None) == (200, {"status": "ok"})
    status, body = await gateway.call("GET", "/readyz", token=None)
    assert status == 200 and body["checks"] == {"postgres": "ok", "migrations": "ok", "redis": "ok"}
    async with gateway.client.get("/metrics") as response:
        text = await response.text()
        assert response.headers["Content-Type"].startswith("text/plain")
    for line in ('gateway_webhooks_total{kind="inbound",outcome="relayed"} 1.0',
                 'gateway_webhooks_total{kind="inbound",outcome="bad_signature"} 1.0',
                 "gateway_messages_relayed_total 1.0",
                 'gateway_sends_total{result="accepted"}',
                 'gateway_route_lookup_seconds_bucket{le="0.001",source="redis"}',
                 "gateway_request_seconds_bucket", "gateway_queue_depth"):
        assert line in text, line
    assert TOKEN not in text and gateway.config.per_carrier["twilio"].auth_token not in text


async def test_errors_never_leak_a_trace(gateway):
    async with gateway.client.post("/webhooks/twilio/sms", data=b"\xff\xfe=\xff",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"}) as response:
        body = await response.json()
        assert response.status in (400, 403) and set(body["error"]) == {"code", "message"}
    async with gateway.client.get("/webhooks/twilio/sms") as response:
        assert response.status == 405 and (await response.json())["error"]["code"] == "method_not_allowed"


async def test_sandbox_shows_what_each_phone_received(start_gateway):
    gateway = await start_gateway(kind="sandbox")
    community = await gateway.community(require_verification=True)
    status, verification = await gateway.call("POST", "/v1/verifications", {"community_id": community["id"],
                                                                          "phone": PAT})
    assert status == 201, verification

    async def screen():
        status, body = await gateway.call("GET", "/sandbox/messages?phone=(415)%20555-2671")
        return body["messages"]

    [text] = await wait_for(screen, what="the code on the phone")
    code = re.search(r"\b(\d{6}) is your Acme Housing verification code", text["body"]).group(1)
    assert text["from"] == PROXY
    status, body = await gateway.call("POST", f"/v1/verifications/{verification['id']}/check", {"code": code})
    assert body == {"status": "approved"}

"""What a newcomer found by trying the finished issue 10 (carriers own their edge, numbers belong to carriers,
sandbox failures on request, carrier settings per module): each a reproduction on real servers, written before
its fix."""

import json
import secrets
from datetime import datetime, timezone

import pytest
from aiohttp.test_utils import make_mocked_request

from gateway.config import ConfigError, load
from gateway.errors import Malformed
from gateway.ops.middleware import error_middleware
from tests.fakes import ACCOUNT_SID, Reply
from tests.helpers import ALEX, PAT, PROXY, PROXY_2, SAM, wait_for

SECRETS = {"GATEWAY_VERIFICATION_SECRET": "x" * 16, "GATEWAY_WEBHOOK_SECRET": "y" * 16}


async def test_a_number_object_with_an_unknown_field_is_refused(start_gateway, db):
    """{"phone", "carrier", "colour"} made a community and dropped "colour" without a word; the README says
    unknown fields are refused (400 unknown_field), and a typo such as "carier" silently meant the default
    carrier."""
    gateway = await start_gateway(kind="sandbox")
    for number in ({"phone": PROXY, "carrier": "sandbox", "colour": "red"}, {"phone": PROXY, "carier": "sandbox"}):
        status, body = await gateway.call("POST", "/v1/communities", {"name": "X", "numbers": [number]})
        assert (status, body["error"]["code"]) == (400, "unknown_field"), body
        assert body["error"]["message"].startswith("numbers[0].c")
    assert await db.fetchval("SELECT count(*) FROM communities") == 0


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_a_carrier_setting_that_is_not_a_finite_number_is_refused(value):
    """SANDBOX_DELIVERY_DELAY=nan (or inf) was accepted: "nan <= 0" is false. With nan the sandbox posts
    "delivered" with no delay at all, with inf never; the same held for every float setting in config.toml."""
    with pytest.raises(ConfigError, match="sandbox.delivery_delay: must be a finite number greater than 0"):
        load({"SANDBOX_DELIVERY_DELAY": value})


def test_a_core_float_setting_of_nan_in_the_file_is_refused(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text("[carrier]\nsend_timeout = nan\n")
    with pytest.raises(ConfigError, match="carrier.send_timeout: must be a finite number"):
        load({"GATEWAY_CONFIG": str(path)})


async def _sent_through_twilio_beside_the_sandbox(start_gateway):
    gateway = await start_gateway(kind="twilio", carrier={"also": "sandbox"})
    community = await gateway.community(numbers=[PROXY, {"phone": PROXY_2, "carrier": "sandbox"}])
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    [sent] = [m for m in await gateway.messages(conversation["id"]) if m["direction"] == "outbound"]
    assert sent["from"] == PROXY  # the least-loaded number, on twilio
    return gateway, sent


async def test_a_status_callback_from_another_carrier_is_not_applied(start_gateway, db):
    """A message sent through twilio, and a callback for it on the sandbox's status path, signed with the sandbox's
    token (by default the well-known "sandbox"): the message ended failed and Alex went on permanent DND. Any
    caller who knows the default token could do this to any message of a gateway serving twilio and the sandbox."""
    gateway, sent = await _sent_through_twilio_beside_the_sandbox(start_gateway)
    token = gateway.config.per_carrier["sandbox"].auth_token
    form = {"MessageSid": gateway.carrier.sent[0]["sid"], "MessageStatus": "failed", "ErrorCode": "opted_out"}
    status, _ = await gateway._signed(f"/webhooks/sandbox/status?message_id={sent['id']}", form, True, token)
    assert status == 403
    assert (await gateway.message(sent["id"]))["status"] != "failed"
    assert await db.fetchval("SELECT dnd FROM contacts WHERE phone = $1", ALEX) is None


async def test_an_inbound_text_from_another_carrier_is_not_stored(start_gateway, db):
    """A STOP to a twilio number, posted on the sandbox's inbound path with the sandbox's (default, well-known)
    token, opted Alex out of the community: the sandbox could speak for every number of the gateway."""
    gateway, _ = await _sent_through_twilio_beside_the_sandbox(start_gateway)
    token = gateway.config.per_carrier["sandbox"].auth_token
    form = {"MessageSid": "SM" + secrets.token_hex(16), "AccountSid": ACCOUNT_SID, "From": ALEX, "To": PROXY,
            "Body": "STOP", "NumMedia": "0"}
    status, _ = await gateway._signed("/webhooks/sandbox/sms", form, True, token)
    assert 400 <= status < 500
    assert await db.fetchval("SELECT preference FROM contacts WHERE phone = $1", ALEX) != "opted_out"
    assert await db.fetchval("SELECT count(*) FROM messages WHERE direction = 'inbound'") == 0


async def _held_for_a_carrier_left_out(gateway, db, count: int) -> tuple[dict, list[dict]]:
    """A community whose number names twilio, on a gateway serving the sandbox alone (as after a restart without
    twilio), and count texts sent from it: returns the community and the texts once none is queued or
    submitting. Its conversation's first notification goes out before, through the sandbox."""
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])

    async def settled(prefix: str = ""):
        messages = [m for m in await gateway.messages(conversation["id"])
                    if m["direction"] == "outbound" and m["body"].startswith(prefix)]
        return messages if all(m["status"] not in ("queued", "submitting") for m in messages) else None

    await wait_for(settled, what="the notification sent")
    await db.execute("UPDATE community_numbers SET carrier = 'twilio'")
    for i in range(count):
        status, _ = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                                       {"from": "prospect", "body": f"m{i}"})
        assert status == 201
    return community, await wait_for(lambda: settled("m"), what="the sends ended")


async def test_a_carrier_left_out_of_the_configuration_does_not_restrict_its_communities(start_gateway, db):
    """Restart a gateway without a carrier some numbers name (CARRIERS_ALSO changed): every send from those numbers
    failed carrier_not_served, and the rate monitor blamed the community for it: 100% errors, restricted (and its
    alert webhook told so) for an operator's configuration. Now they wait, held, uncounted."""
    # monitor_min_sent 1: the notification alone gets the community judged; the four failures made it 4 in 5.
    gateway = await start_gateway(kind="sandbox", compliance={"monitor_interval": 0.2, "monitor_min_sent": 1})
    community, texts = await _held_for_a_carrier_left_out(gateway, db, 4)
    ended = datetime.now(timezone.utc)
    assert [(m["status"], m["status_reason"], m["attempts"]) for m in texts] == [
        ("held", "carrier_not_served", 0)] * 4
    assert (await gateway.message(texts[0]["id"]))["status_reason"] == "carrier_not_served"
    status, body = await gateway.call("GET", f"/v1/communities/{community['id']}/held?reason=carrier_not_served")
    assert status == 200 and [m["id"] for m in body["messages"]] == [m["id"] for m in texts]
    assert gateway.metrics.registry.get_sample_value(
        "gateway_messages_held_total", {"reason": "carrier_not_served"}) == 4

    async def checked_since():  # a monitor pass after the sends
        status, body = await gateway.call("GET", f"/v1/communities/{community['id']}")
        checked = body["compliance"]["checked_at"]
        return body["compliance"] if checked and datetime.fromisoformat(checked) > ended else None

    compliance = await wait_for(checked_since, what="a rate check after the sends")
    assert compliance["state"] == "ok", compliance
    assert compliance["error_rate"] == 0, compliance
    # Nothing was reserved against the community's limits: only the notification's segments count.
    notification = await db.fetchval("SELECT segments FROM messages WHERE kind = 'notification'")
    status, body = await gateway.call("GET", f"/v1/communities/{community['id']}")
    assert (body["daily"]["used"], body["monthly"]["used"]) == (notification, notification), body


async def test_messages_held_for_a_carrier_go_out_when_it_is_configured_again(start_gateway, db):
    """The messages held carrier_not_served are sent once a gateway serving their carrier starts."""
    first = await start_gateway(kind="sandbox")
    _, texts = await _held_for_a_carrier_left_out(first, db, 2)
    assert {m["status"] for m in texts} == {"held"}
    await first.client.close()

    second = await start_gateway(kind="twilio", carrier={"name": "sandbox", "also": "twilio"})
    assert sorted(await second.delivered_to(ALEX, 2)) == ["m0", "m1"]
    for text in texts:
        message = await wait_for(lambda: _sent(second, text["id"]), what="the release recorded")
        assert (message["status_reason"], message["attempts"]) == (None, 1), message


async def _sent(gateway, message_id: int):
    message = await gateway.message(message_id)
    return message if message["status"] not in ("held", "queued", "submitting") else None


class BadBody(Malformed):
    """What a carrier module added as one file may raise for a body it cannot read."""


async def test_a_subclass_of_a_domain_error_gets_its_base_class_status():
    """A carrier module that raised its own subclass of Malformed got a 500 (a KeyError in error_middleware's
    table lookup by exact class, itself raised while handling the error), not 400: adding a carrier is meant to
    need nothing in the core."""
    async def handler(request):
        raise BadBody("invalid_body", "not a pigeon's body")

    response = await error_middleware(make_mocked_request("POST", "/webhooks/pigeon/in"), handler)
    assert response.status == 400
    assert json.loads(response.body) == {"error": {"code": "invalid_body", "message": "not a pigeon's body"}}


async def test_the_sandbox_phone_does_not_speak_for_another_carriers_numbers(start_gateway, db):
    """POST /sandbox/inbound (the sandbox's phone) stored a STOP to a twilio number and opted Alex out: it went
    straight to the inbox, past the wrong_carrier check every carrier webhook gets."""
    gateway, _ = await _sent_through_twilio_beside_the_sandbox(start_gateway)
    status, body = await gateway.call("POST", "/sandbox/inbound", {"from": ALEX, "to": PROXY, "body": "STOP"})
    assert (status, body["error"]["code"]) == (403, "wrong_carrier"), body
    assert await db.fetchval("SELECT preference FROM contacts WHERE phone = $1", ALEX) != "opted_out"
    assert await db.fetchval("SELECT count(*) FROM messages WHERE direction = 'inbound'") == 0
    # Its own number still takes the phone's texts.
    status, body = await gateway.call("POST", "/sandbox/inbound", {"from": ALEX, "to": PROXY_2, "body": "hi"})
    assert status == 200, body


async def test_an_early_status_from_another_carrier_is_not_applied(start_gateway, db, fake_twilio):
    """A status for a sid not yet recorded is kept for later whoever posts it, and applied unchecked when the send
    records that sid: the sandbox's callback ends a twilio message failed."""
    sid = "SM" + secrets.token_hex(16)
    gateway = await start_gateway(kind="twilio", carrier={"also": "sandbox"})
    token = gateway.config.per_carrier["sandbox"].auth_token
    form = {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "opted_out"}
    status, _ = await gateway._signed("/webhooks/sandbox/status", form, True, token)
    assert status == 200  # kept as early: the message is not known yet
    fake_twilio.then(Reply(sid=sid))
    community = await gateway.community(numbers=[PROXY])
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    [sent] = [m for m in await gateway.messages(conversation["id"]) if m["direction"] == "outbound"]
    sent = await wait_for(lambda: _sent(gateway, sent["id"]), what="the send recorded")
    assert sent["status"] != "failed", sent


async def test_a_verification_code_that_expired_while_held_for_its_carrier_does_not_count_against_the_community(
        start_gateway, db, redis_client):
    """A verification text held carrier_not_served outlives its code (10 minutes) whenever the operator takes
    longer than that to configure the carrier again; the release then fails it code_expired with the try counted,
    so the rate monitor saw a failed send the carrier never saw, and (one send, one error) restricted the
    community for the operator's configuration."""
    monitor = {"monitor_interval": 0.2, "monitor_min_sent": 1}  # in both: one process checks per interval
    first = await start_gateway(kind="sandbox", compliance=monitor)
    community = await first.community(require_verification=True)
    await db.execute("UPDATE community_numbers SET carrier = 'twilio'")
    status, verification = await first.call("POST", "/v1/verifications", {"community_id": community["id"],
                                                                          "phone": PAT})
    assert status == 201, verification
    message_id = verification["message"]["id"]

    async def held():
        message = await first.message(message_id)
        return message if message["status"] == "held" else None

    assert (await wait_for(held, what="the code held"))["status_reason"] == "carrier_not_served"
    await first.client.close()
    assert await redis_client.delete(f"gw:code:{message_id}") == 1  # its TTL ran out meanwhile

    second = await start_gateway(kind="twilio", carrier={"name": "sandbox", "also": "twilio"}, compliance=monitor)
    failed = await wait_for(lambda: _sent(second, message_id), what="the release tried")
    assert (failed["status"], failed["error_code"], failed["attempts"]) == ("failed", "code_expired", 0), failed
    # A code that goes out, so that the monitor has a send to judge the community by.
    status, body = await second.call("POST", "/v1/verifications", {"community_id": community["id"], "phone": ALEX})
    assert status == 201, body
    await second.delivered_to(ALEX)
    await wait_for(lambda: _sent(second, body["message"]["id"]), what="the second code recorded")
    ended = datetime.now(timezone.utc)

    async def checked_since():
        status, body = await second.call("GET", f"/v1/communities/{community['id']}")
        checked = body["compliance"]["checked_at"]
        return body["compliance"] if checked and datetime.fromisoformat(checked) > ended else None

    compliance = await wait_for(checked_since, what="a rate check after the release")
    assert (compliance["state"], compliance["error_rate"]) == ("ok", 0), compliance


@pytest.mark.parametrize("token", [" ", "x", "sandbox2"])
def test_the_sandbox_token_beside_a_real_carrier_is_as_long_as_the_other_secrets(token):
    """SANDBOX_AUTH_TOKEN=x (or a blank) passed the "set your own" check: anyone could then sign texts and statuses
    for the sandbox's numbers, as with the default. The gateway's other secrets need 16 characters."""
    with pytest.raises(ConfigError, match=r"sandbox.auth_token \(SANDBOX_AUTH_TOKEN\): .*16 characters"):
        load({**SECRETS, "CARRIER": "twilio", "CARRIERS_ALSO": "sandbox", "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
              "TWILIO_AUTH_TOKEN": "t" * 32, "SANDBOX_AUTH_TOKEN": token})
    load({**SECRETS, "CARRIER": "twilio", "CARRIERS_ALSO": "sandbox", "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
          "TWILIO_AUTH_TOKEN": "t" * 32, "SANDBOX_AUTH_TOKEN": "s" * 16})


async def test_a_status_by_sid_alone_from_another_carrier_is_not_applied(start_gateway, db):
    """Without message_id the callback is matched by sid; the carrier check holds there too."""
    gateway, sent = await _sent_through_twilio_beside_the_sandbox(start_gateway)
    sent = await wait_for(lambda: _sent(gateway, sent["id"]), what="the send recorded")
    token = gateway.config.per_carrier["sandbox"].auth_token
    form = {"MessageSid": sent["carrier_sid"], "MessageStatus": "failed", "ErrorCode": "opted_out"}
    status, _ = await gateway._signed("/webhooks/sandbox/status", form, True, token)
    assert status == 403
    assert (await gateway.message(sent["id"]))["status"] != "failed"
    assert await db.fetchval("SELECT count(*) FROM early_statuses") == 0


@pytest.mark.parametrize("to", ["4155550100", "(415) 555-0100", "+1 415 555 0100", "1-415-555-0100"])
async def test_a_text_to_another_carriers_number_in_another_form_does_not_reach_it(start_gateway, db, to):
    """To in E.164 with spaces is read as the number (403 wrong_carrier); a national form is not normalised (no
    region), so it is nobody's number, handled as before: stored without a community, no STOP applied."""
    gateway, _ = await _sent_through_twilio_beside_the_sandbox(start_gateway)
    token = gateway.config.per_carrier["sandbox"].auth_token
    form = {"MessageSid": "SM" + secrets.token_hex(16), "AccountSid": ACCOUNT_SID, "From": ALEX, "To": to,
            "Body": "STOP", "NumMedia": "0"}
    status, _ = await gateway._signed("/webhooks/sandbox/sms", form, True, token)
    assert status == (403 if to.startswith("+") else 200)
    assert await db.fetchval("SELECT preference FROM contacts WHERE phone = $1", ALEX) != "opted_out"
    assert await db.fetchval("SELECT count(*) FROM messages WHERE direction = 'inbound' AND community_id IS NOT NULL"
                             " OR to_number = $1", PROXY) == 0


async def test_a_gateway_that_serves_the_carrier_releases_as_it_starts_after_one_that_does_not(start_gateway, db):
    """The release is run by one process per interval (a Redis lease named carrier_release). A gateway without the
    carrier that ran it a moment before (the process being replaced, in a restart) held the lease, so the one
    that serves the carrier released nothing until the next interval (15 s by default), or, beside a process
    configured without it, whenever it lost the race for the lease."""
    queue = {"sweep_interval": 30.0}
    first = await start_gateway(kind="sandbox", queue=queue)
    _, texts = await _held_for_a_carrier_left_out(first, db, 1)
    assert [m["status"] for m in texts] == ["held"]
    await first.client.close()

    second = await start_gateway(kind="twilio", carrier={"name": "sandbox", "also": "twilio"}, queue=queue)
    assert await second.delivered_to(ALEX) == ["m0"]


async def test_a_text_held_for_its_carrier_does_not_use_up_the_sender_identification(start_gateway, db):
    """begin_send wraps the first text to a phone and marks the phone identified before the carrier is looked up;
    the text was then held carrier_not_served, and the next text to that phone, from the community's other number
    (its carrier served), went out bare: the phone's first text had no identification nor opt-out language."""
    gateway = await start_gateway(kind="sandbox")
    community = await gateway.community(numbers=[PROXY, PROXY_2])
    await db.execute("UPDATE community_numbers SET carrier = 'twilio' WHERE phone = $1", PROXY)
    first = await gateway.conversation(community["id"], prospect=(PAT, "Pat"))
    second = await gateway.conversation(community["id"], prospect=(SAM, "Sam"))

    async def notified(conversation):
        [sent] = [m for m in await gateway.messages(conversation["id"]) if m["direction"] == "outbound"]
        return sent if sent["status"] not in ("queued", "submitting") else None

    one, two = [await wait_for(lambda: notified(c), what="the notification tried") for c in (first, second)]
    held, went = (one, two) if one["from"] == PROXY else (two, one)
    assert (held["status"], held["status_reason"], went["from"]) == ("held", "carrier_not_served", PROXY_2)

    status, body = await gateway.call("GET", f"/sandbox/messages?phone={ALEX}")
    assert status == 200 and len(body["messages"]) == 1, body
    # Identified: the opt-out words added (the notification names the community already: not said twice).
    assert body["messages"][0]["body"].endswith("via Acme Housing: Is housing included? (Reply to this number to "
                                                "answer.) Reply STOP to opt out."), body

"""What a newcomer found by trying the finished issue 10 (carriers own their edge, numbers belong to carriers,
sandbox failures on request, carrier settings per module): each a reproduction on real servers, written before
its fix. Those not fixed yet are strict xfails saying what is wrong."""

import secrets

import pytest

from gateway.config import ConfigError, load
from tests.fakes import ACCOUNT_SID
from tests.helpers import ALEX, PROXY, PROXY_2

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


@pytest.mark.xfail(strict=True, reason="statuses.apply matches a callback by our id (or sid) alone: any carrier "
                   "served here may move any message, whichever carrier sent it")
async def test_a_status_callback_from_another_carrier_is_not_applied(start_gateway, db):
    """A message sent through twilio, and a callback for it on the sandbox's status path, signed with the sandbox's
    token (by default the well-known "sandbox"): the message ended failed and Alex went on permanent DND. Any
    caller who knows the default token could do this to any message of a gateway serving twilio and the sandbox."""
    gateway, sent = await _sent_through_twilio_beside_the_sandbox(start_gateway)
    token = gateway.config.per_carrier["sandbox"].auth_token
    form = {"MessageSid": gateway.carrier.sent[0]["sid"], "MessageStatus": "failed", "ErrorCode": "opted_out"}
    await gateway._signed(f"/webhooks/sandbox/status?message_id={sent['id']}", form, True, token)
    assert (await gateway.message(sent["id"]))["status"] != "failed"
    assert await db.fetchval("SELECT dnd FROM contacts WHERE phone = $1", ALEX) is None


@pytest.mark.xfail(strict=True, reason="receiving hands every carrier's inbound to inbound.receive without "
                   "checking that the To number is on that carrier")
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

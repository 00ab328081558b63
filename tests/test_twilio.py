"""The twilio carrier: parsing real-shaped payloads, and sending against a local server speaking its API."""

from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from gateway.carriers import InboundMessage, StatusUpdate
from gateway.carriers.twilio import TwilioWire
from gateway.errors import Malformed
from tests.fakes import Reply
from tests.helpers import ALEX, wait_for

PAYLOADS = Path(__file__).parent / "payloads" / "twilio"


def payload(name: str) -> list[tuple[str, str]]:
    return parse_qsl((PAYLOADS / name).read_text().strip(), keep_blank_values=True)


@pytest.mark.parametrize("name, expected", [
    ("inbound_sms.txt", InboundMessage("SM1f0e8ae6ade43cb3c0ce4525424e404f", "+14155552671", "+14155550100",
                                   "Is the pool heated?")),
    ("inbound_mms.txt", InboundMessage("MM0c2a4d2b1ad0c0f6e5b8d8c4a0e2f1b3", "+14155552671", "+14155550100", "", (
        "https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000001/Messages/"
        "MM0c2a4d2b1ad0c0f6e5b8d8c4a0e2f1b3/Media/ME00000000000000000000000000000003",))),
    ("inbound_unicode.txt", InboundMessage("SM9a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d", "+525512345678", "+14155550100",
                                       "¿Hay piscina? 🏊 €20")),
])
def test_parse_inbound(name, expected):
    assert TwilioWire("t").inbound_from_form(payload(name)) == expected


@pytest.mark.parametrize("name, expected", [
    ("status_delivered.txt", StatusUpdate("SM5e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b", "delivered", None)),
    ("status_undelivered.txt", StatusUpdate("SM5e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b", "undelivered", "30003")),
    ("status_queued.txt", StatusUpdate("SM5e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b", "accepted", None)),
    ("status_received.txt", None),  # an inbound message's own status: nothing for us to apply
])
def test_parse_status(name, expected):
    assert TwilioWire("t").status_from_form(payload(name)) == expected


@pytest.mark.parametrize("form, reason", [
    ([("From", "+1"), ("To", "+1")], "MessageSid: required"),
    ([("MessageSid", "SM1"), ("From", "+1"), ("To", "+1"), ("NumMedia", "x")], "NumMedia"),
    ([("MessageSid", "SM1\x00"), ("From", "+1"), ("To", "+1")], "NUL"),
    ([("MessageSid", "SM1"), ("From", "+1"), ("To", "+1"), ("Body", "x" * 1601)], "longer than"),
])
def test_parse_inbound_refuses_malformed(form, reason):
    with pytest.raises(Malformed, match=reason):
        TwilioWire("t").inbound_from_form(form)


async def _notification(gateway):
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    return conversation["id"]


async def _final(gateway, conversation_id, statuses=("accepted", "failed")):
    async def check():
        [message] = await gateway.messages(conversation_id)
        return message if message["status"] in statuses else None

    return await wait_for(check, what="a final send result")


async def test_send_posts_twilios_form_with_basic_auth(gateway):
    conversation_id = await _notification(gateway)
    message = await _final(gateway, conversation_id)
    [request] = gateway.carrier.requests
    assert set(request) == {"From", "To", "Body", "StatusCallback"}
    assert request["To"] == ALEX and message["carrier_sid"] == gateway.carrier.sent[0]["sid"]


async def test_429_is_retried_then_sent(gateway):
    gateway.carrier.then(Reply(429, 20429, "Too Many Requests", retry_after="0"), Reply(503, None, "down"))
    conversation_id = await _notification(gateway)
    message = await _final(gateway, conversation_id)
    assert message["status"] == "accepted" and message["attempts"] == 3
    assert len(gateway.carrier.requests) == 3 and len(gateway.carrier.sent) == 1


async def test_invalid_number_error_fails_the_message_with_its_code(gateway):
    gateway.carrier.then(Reply(400, 21211, "The 'To' number is not a valid phone number."))
    conversation_id = await _notification(gateway)
    message = await _final(gateway, conversation_id)
    assert (message["status"], message["error_code"], message["attempts"]) == ("failed", "21211", 1)
    assert "not a valid phone number" in message["error_message"]
    assert len(gateway.carrier.requests) == 1  # a 4xx is not retried


async def test_message_that_keeps_failing_ends_failed_after_max_attempts(gateway):
    gateway.carrier.then(*[Reply(500, None, "boom")] * 5)
    conversation_id = await _notification(gateway)
    message = await _final(gateway, conversation_id)
    assert (message["status"], message["error_code"]) == ("failed", "max_attempts")
    assert message["attempts"] == gateway.config.carrier.max_attempts == len(gateway.carrier.requests)


async def test_slow_carrier_times_out_and_is_retried(start_gateway):
    gateway = await start_gateway(carrier={"send_timeout": 0.3})
    gateway.carrier.then(Reply(delay=1.0))
    conversation_id = await _notification(gateway)
    message = await _final(gateway, conversation_id)
    assert message["status"] == "accepted" and message["attempts"] == 2


async def test_wrong_credentials_fail_the_message_visibly(start_gateway):
    gateway = await start_gateway(twilio={"auth_token": "wrong"})
    conversation_id = await _notification(gateway)
    message = await _final(gateway, conversation_id)
    assert (message["status"], message["error_code"]) == ("failed", "20003")

"""WhatsApp on the other carriers (issue 14). Plivo: the same Message API and webhook with Type whatsapp; a WhatsApp
participant through Plivo talks with an SMS participant, and outside the window the community's template goes and
the text waits for the answer. Bandwidth does not offer it: a text to a WhatsApp participant on its numbers fails
whatsapp_not_offered. Vonage: tests/test_vonage_channels.py; Telnyx: tests/test_telnyx_whatsapp.py."""

from urllib.parse import parse_qs

import pytest

from gateway.carriers import InboundMessage, RawRequest
from gateway.carriers.base import OutboundSms, Template
from gateway.carriers.plivo import PlivoCarrier, Settings, whatsapp_template
from gateway.config import Config
from gateway.vocabulary import Channel
from tests.fakes_plivo import AUTH_ID, AUTH_TOKEN, FakePlivo
from tests.helpers import ALEX, PAT, PROXY, wait_for
from tests.test_plivo import PAYLOADS, inbound, post
from tests.test_vonage_channels import TEMPLATE


def test_parse_a_whatsapp_inbound():
    body = (PAYLOADS / "inbound_whatsapp.txt").read_bytes().strip()
    request = RawRequest("POST", "https://gw.example.com/webhooks/plivo/sms", {}, body,
                         "application/x-www-form-urlencoded")
    carrier = PlivoCarrier(Settings(AUTH_ID, AUTH_TOKEN), Config())
    assert carrier.parse_inbound(request) == [InboundMessage("3b0c2f5e-6c3d-11ef-8f2a-0242ac110002", PAT, PROXY,
                                                             "Is the pool heated?", channel=Channel.WHATSAPP)]
    assert parse_qs(body.decode())["Type"] == ["whatsapp"]


def test_the_template_object():
    message = OutboundSms(1, PROXY, PAT, "preview", channel=Channel.WHATSAPP,
                          template=Template("reengage_v1", {"2": "Monday", "1": "Acme"}, "preview"))
    assert whatsapp_template(message, "es_MX") == {
        "name": "reengage_v1", "language": "es_MX",
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Acme"},
                                                       {"type": "text", "text": "Monday"}]}]}


@pytest.fixture
async def gateway(start_gateway, fake_plivo):
    return await start_gateway("sandbox", carrier={"name": "plivo"}, plivo={
        "auth_id": AUTH_ID, "auth_token": AUTH_TOKEN, "api_base": fake_plivo.url, "lookup_base": fake_plivo.url})


async def _write(gateway, sender: str, text: str, channel: str = "sms") -> None:
    params = inbound(sender, PROXY, text)
    if channel == "whatsapp":
        params = {**params, "Type": "whatsapp", "ContentType": "text", "Body": params.pop("Text")}
    status, answer = await post(gateway, "/webhooks/plivo/sms", params)
    assert status == 200, answer


async def _sent(fake: FakePlivo, phone: str, count: int, whatsapp: bool) -> list:
    async def found():
        sent = fake.whatsapp_to(phone) if whatsapp else fake.bodies_to(phone)
        return sent if len(sent) >= count else None
    return await wait_for(found, what=f"{count} messages to {phone}")


async def _setup(gateway, fake: FakePlivo, *, opted_in: bool) -> dict:
    community = await gateway.community()
    await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/template", TEMPLATE)
    status, body = await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/contacts/{PAT}",
                                      {"channel": "whatsapp", "opted_in": opted_in})
    assert status == 200, body
    conversation = await gateway.conversation(community["id"])
    await _sent(fake, ALEX, 1, whatsapp=False)
    return conversation


async def _held(gateway, conversation_id: int, reason: str) -> None:
    async def held():
        return any(m["status"] == "held" and m["status_reason"] == reason
                   for m in await gateway.messages(conversation_id))
    await wait_for(held, what=f"the text held for {reason}")


async def test_a_whatsapp_participant_on_plivo_talks_with_an_sms_participant(gateway, fake_plivo):
    conversation = await _setup(gateway, fake_plivo, opted_in=False)
    await _write(gateway, ALEX, "Yes, utilities too.")  # held: Pat never wrote, nor opted in
    await _held(gateway, conversation["id"], "whatsapp_opt_in")
    await _write(gateway, PAT, "Great, thanks!", "whatsapp")
    [sent] = await _sent(fake_plivo, PAT, 1, whatsapp=True)
    assert (sent["text"], sent["src"], "template" in sent) == ("Yes, utilities too.", PROXY, False)
    assert (await _sent(fake_plivo, ALEX, 2, whatsapp=False))[1] == "Great, thanks!"
    assert fake_plivo.bodies_to(PAT) == []


async def test_outside_the_window_plivo_sends_the_template_and_the_answer_releases_the_text(gateway, fake_plivo):
    conversation = await _setup(gateway, fake_plivo, opted_in=True)
    await _write(gateway, ALEX, "Are you still interested?")
    [template] = await _sent(fake_plivo, PAT, 1, whatsapp=True)
    assert "text" not in template and template["template"]["name"] == TEMPLATE["template_id"]
    await _held(gateway, conversation["id"], "whatsapp_window")
    await _write(gateway, PAT, "Yes!", "whatsapp")
    assert (await _sent(fake_plivo, PAT, 2, whatsapp=True))[1]["text"] == "Are you still interested?"

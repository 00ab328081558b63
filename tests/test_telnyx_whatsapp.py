"""WhatsApp through Telnyx (issue 14): payload.type WHATSAPP in its signed messaging webhooks, POST
/v2/messages/whatsapp with WhatsApp's message object (free text, the template by name and language, a picture by
link), Meta's 131047 (outside the 24-hour window) mapped onto outside_window; a WhatsApp participant on a Telnyx
number talking with an SMS participant through the fake."""

import json

import pytest

from gateway.carriers import InboundMessage, RawRequest, StatusUpdate
from gateway.carriers._telnyx_whatsapp import message_object
from gateway.carriers.base import OutboundSms, Template
from gateway.carriers.telnyx import TelnyxWire
from gateway.compliance.preferences import dnd_for
from gateway.vocabulary import Channel, Dnd, FailureClass
from tests.fakes_telnyx import PAYLOADS, FakeTelnyx, Signer, event
from tests.helpers import ALEX, PAT, PROXY, wait_for
from tests.test_vonage_channels import TEMPLATE

MID = "40385f64-5717-4562-b3fc-2c963f66afa6"
WA = Channel.WHATSAPP


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer()


def _signed(signer: Signer, name: str) -> RawRequest:
    body = (PAYLOADS / name).read_bytes()
    return RawRequest("POST", "https://gw.example.com/webhooks/telnyx/sms", signer.headers(body), body,
                      "application/json")


# --- The wire, as tables -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("inbound_whatsapp_text.json", InboundMessage("wa-in-0001-text", PAT, PROXY, "Is the pool heated?", channel=WA)),
    ("inbound_whatsapp_image.json", InboundMessage("wa-in-0002-image", PAT, PROXY, "The lease", (
        "https://media.telnyx.example/wa-7f3e-photo.jpg",), channel=WA)),
    ("inbound_whatsapp_button.json", InboundMessage("wa-in-0003-button", PAT, PROXY, "Yes, go ahead", channel=WA)),
    # No message object: its text and media as on SMS.
    ("inbound_whatsapp_text_field.json", InboundMessage("wa-in-0004-flat", PAT, PROXY, "Hola", (
        "https://media.telnyx.example/wa-voice.ogg",), channel=WA)),
    ("inbound_sms.json", InboundMessage("7ee4241c-f127-47e5-9c34-3aac291f8058", PAT, PROXY, "Is the pool heated?")),
])
def test_parse_inbound(signer, name, expected):
    assert TelnyxWire(signer.public_key).parse_inbound(_signed(signer, name)) == [expected]


@pytest.mark.parametrize("name, expected", [
    ("status_whatsapp_outside_window.json", StatusUpdate(MID, "failed", "131047")),
    ("status_whatsapp_read.json", StatusUpdate(MID, "read", None)),
])
def test_parse_status(signer, name, expected):
    assert TelnyxWire(signer.public_key).parse_status(_signed(signer, name)) == [expected]


@pytest.mark.parametrize("code, failure_class, permanent, dnd", [
    ("131047", FailureClass.OUTSIDE_WINDOW, False, None),  # held and the template sent, no DND of its own
    ("131026", FailureClass.INVALID_NUMBER, False, Dnd.TEMPORARY),  # not a WhatsApp user
    ("40008", FailureClass.OTHER, True, None),  # Meta's catch-all: nothing sure
])
def test_whatsapp_error_codes(signer, code, failure_class, permanent, dnd):
    failure = TelnyxWire(signer.public_key).failure(code)
    assert (failure.failure_class, failure.permanent) == (failure_class, permanent)
    assert dnd_for(failure) == dnd


TEXT = OutboundSms(1, PROXY, PAT, "Yes, utilities too.", channel=WA)


@pytest.mark.parametrize("message, expected", [
    (TEXT, {"type": "text", "text": {"body": "Yes, utilities too."}}),
    (OutboundSms(1, PROXY, PAT, "preview", channel=WA, template=Template("reengage_v1", {"2": "Mon", "1": "Acme"},
                                                                         "preview")),
     {"type": "template", "template": {"name": "reengage_v1", "language": {"policy": "deterministic", "code": "es_MX"},
                                       "components": [{"type": "body", "parameters": [
                                           {"type": "text", "text": "Acme"}, {"type": "text", "text": "Mon"}]}]}}),
    (OutboundSms(1, PROXY, PAT, "preview", channel=WA, template=Template("hello_world", {}, "preview")),
     {"type": "template", "template": {"name": "hello_world", "language": {"policy": "deterministic", "code": "es_MX"},
                                       "components": []}}),
    (OutboundSms(1, PROXY, PAT, "The lease", ("https://gw/media/1/x/y",), WA, media_types=("image/png",)),
     {"type": "image", "image": {"link": "https://gw/media/1/x/y", "caption": "The lease"}}),
    (OutboundSms(1, PROXY, PAT, "Tour", ("https://gw/media/2/x/y",), WA, media_types=("video/mp4",)),
     {"type": "video", "video": {"link": "https://gw/media/2/x/y", "caption": "Tour"}}),
    (OutboundSms(1, PROXY, PAT, "Form", ("https://gw/media/3/x/y",), WA, media_types=("application/pdf",)),
     {"type": "document", "document": {"link": "https://gw/media/3/x/y", "caption": "Form"}}),
])
def test_the_whatsapp_message_object(message, expected):
    assert message_object(message, "es_MX") == expected


# --- Against a gateway and the fake ----------------------------------------------------------------------------------

async def _write(gateway, fake: FakeTelnyx, sender: str, text: str, sid: str, whatsapp: bool = False) -> None:
    body = event("message.received", sid, sender=sender, to=PROXY, text=None if whatsapp else text,
                 whatsapp={"type": "text", "text": {"body": text}} if whatsapp else None)
    async with gateway.client.post("/webhooks/telnyx/sms", data=body, headers=fake.signer.headers(body)) as answer:
        assert answer.status == 200, await answer.text()


async def _whatsapp_to(fake: FakeTelnyx, phone: str, count: int) -> list[dict]:
    async def found():
        sent = fake.whatsapp_to(phone)
        return sent if len(sent) >= count else None
    return await wait_for(found, what=f"{count} WhatsApp messages to {phone}")


async def _sms_to(fake: FakeTelnyx, phone: str, count: int) -> list[str]:
    async def found():
        sent = fake.bodies_to(phone)
        return sent if len(sent) >= count else None
    return await wait_for(found, what=f"{count} texts to {phone}")


async def _setup(gateway, fake: FakeTelnyx, *, opted_in: bool) -> dict:
    community = await gateway.community()
    await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/template", TEMPLATE)
    status, body = await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/contacts/{PAT}",
                                      {"channel": "whatsapp", "opted_in": opted_in})
    assert status == 200, body
    conversation = await gateway.conversation(community["id"])
    await _sms_to(fake, ALEX, 1)
    return conversation


async def _held(gateway, conversation_id: int, reason: str) -> dict:
    async def held():
        found = [m for m in await gateway.messages(conversation_id)
                 if m["status"] == "held" and m["status_reason"] == reason]
        return found[0] if found else None
    return await wait_for(held, what=f"the text held for {reason}")


async def test_a_whatsapp_participant_on_telnyx_talks_with_an_sms_participant(start_telnyx, fake_telnyx):
    gateway = await start_telnyx()
    conversation = await _setup(gateway, fake_telnyx, opted_in=False)
    await _write(gateway, fake_telnyx, ALEX, "Yes, utilities too.", "in-1")  # held: Pat never wrote, nor opted in
    await _held(gateway, conversation["id"], "whatsapp_opt_in")
    await _write(gateway, fake_telnyx, PAT, "Great, thanks!", "wa-in-1", whatsapp=True)
    [sent] = await _whatsapp_to(fake_telnyx, PAT, 1)
    assert sent == {"type": "text", "text": {"body": "Yes, utilities too."}}
    assert (await _sms_to(fake_telnyx, ALEX, 2))[1] == "Great, thanks!"
    assert fake_telnyx.bodies_to(PAT) == []
    [request] = [m for m in fake_telnyx.sent if m["to"] == PAT]
    assert request["from"] == PROXY and request["webhook_url"].startswith(f"{gateway.config.public_url}/webhooks/telnyx/")


async def test_outside_the_window_the_template_goes_and_the_answer_releases_the_text(start_telnyx, fake_telnyx):
    gateway = await start_telnyx()
    conversation = await _setup(gateway, fake_telnyx, opted_in=True)
    await _write(gateway, fake_telnyx, ALEX, "Are you still interested?", "in-1")
    [template] = await _whatsapp_to(fake_telnyx, PAT, 1)
    assert template["type"] == "template" and template["template"]["name"] == TEMPLATE["template_id"]
    assert template["template"]["language"]["code"] == "en_US"
    await _held(gateway, conversation["id"], "whatsapp_window")
    await _write(gateway, fake_telnyx, PAT, "Yes!", "wa-in-1", whatsapp=True)
    assert (await _whatsapp_to(fake_telnyx, PAT, 2))[1] == {"type": "text", "text": {"body": "Are you still interested?"}}


async def test_131047_in_a_status_holds_the_text_and_sends_the_template(start_telnyx, fake_telnyx):
    """Telnyx passes Meta's 131047 through in the status of a text it took: the window closed meanwhile."""
    gateway = await start_telnyx()
    conversation = await _setup(gateway, fake_telnyx, opted_in=False)
    await _write(gateway, fake_telnyx, PAT, "Hello?", "wa-in-1", whatsapp=True)  # the window opens
    await _write(gateway, fake_telnyx, ALEX, "Tomorrow at 10", "in-1")
    [text] = await _whatsapp_to(fake_telnyx, PAT, 1)
    [request] = [m for m in fake_telnyx.sent if m.get("whatsapp_message") == text]
    status, _ = await fake_telnyx.report(request, "sending_failed", errors=[{"code": "131047", "title": "Re-engagement"}])
    assert status == 200
    held = await _held(gateway, conversation["id"], "whatsapp_window")
    assert held["body"].endswith("Tomorrow at 10")
    [_, template] = await _whatsapp_to(fake_telnyx, PAT, 2)
    assert template["type"] == "template"


async def test_pictures_both_ways_between_whatsapp_and_mms_through_telnyx(start_telnyx, fake_telnyx):
    """Pat's WhatsApp picture (payload.body image link) is fetched, held to WhatsApp's limits and reaches Alex as an
    MMS (media_urls); Alex's MMS reaches Pat as a WhatsApp image with the text as its caption."""
    from tests.test_media import FAST, picture
    gateway = await start_telnyx(media=FAST)
    await _setup(gateway, fake_telnyx, opted_in=True)
    link = fake_telnyx.add_media(picture(1), "image/png")
    await _write_raw(gateway, fake_telnyx, event("message.received", "wa-in-1", sender=PAT, to=PROXY, whatsapp={
        "type": "image", "image": {"link": link, "caption": "My ID"}}))

    async def mms_to_alex():
        return [m for m in fake_telnyx.sent if m["to"] == ALEX and m.get("media_urls")] or None
    [to_alex] = await wait_for(mms_to_alex, what="the MMS to Alex")
    assert to_alex["text"].endswith("My ID") and to_alex["media_urls"][0].startswith(gateway.config.public_url)

    alex_link = fake_telnyx.add_media(picture(2), "image/png")
    body = event("message.received", "in-2", sender=ALEX, to=PROXY, text="The lease")
    raw = json.loads(body)
    raw["data"]["payload"]["media"] = [{"url": alex_link, "content_type": "image/png"}]
    await _write_raw(gateway, fake_telnyx, json.dumps(raw).encode())

    async def image_to_pat():
        return [m for m in fake_telnyx.whatsapp_to(PAT) if m["type"] == "image"] or None
    [image] = await wait_for(image_to_pat, what="the WhatsApp image to Pat")
    assert image["image"]["caption"] == "The lease" and image["image"]["link"].startswith(gateway.config.public_url)


async def _write_raw(gateway, fake: FakeTelnyx, body: bytes) -> None:
    async with gateway.client.post("/webhooks/telnyx/sms", data=body, headers=fake.signer.headers(body)) as answer:
        assert answer.status == 200, await answer.text()


async def test_131047_refusing_the_send_holds_the_text_too(start_telnyx, fake_telnyx):
    from tests.fakes_telnyx import Reply
    gateway = await start_telnyx()
    conversation = await _setup(gateway, fake_telnyx, opted_in=False)
    await _write(gateway, fake_telnyx, PAT, "Hello?", "wa-in-1", whatsapp=True)
    await _sms_to(fake_telnyx, ALEX, 2)  # Pat's text to Alex went: the next send is Alex's to Pat
    fake_telnyx.then(Reply(status=400, code="131047", title="Re-engagement message"))
    await _write(gateway, fake_telnyx, ALEX, "Tomorrow at 10", "in-1")
    held = await _held(gateway, conversation["id"], "whatsapp_window")
    [refused] = [r for r in fake_telnyx.requests if r.get("whatsapp_message", {}).get("type") == "text"]
    assert refused["whatsapp_message"]["text"]["body"] == held["body"]
    [template] = await _whatsapp_to(fake_telnyx, PAT, 1)  # the refused text is not in sent; the template is
    assert template["type"] == "template"

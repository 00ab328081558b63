"""Vonage beyond SMS (issue 14): WhatsApp participants through the Messages API (channel whatsapp: free text, the
template as a custom object, error 1340 outside the window) talking with SMS participants, MMS sent one message per
picture, and inbound media fetched with the application's JWT where "Secure Inbound Media" asks for it."""

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.carriers import InboundMessage, RawRequest, StatusUpdate
from gateway.carriers._vonage_channels import mms_type, payloads
from gateway.carriers.base import OutboundSms, Template
from gateway.carriers.vonage import Settings, VonageCarrier
from gateway.config import Config
from gateway.vocabulary import Channel, FailureClass
from tests.fakes import unwrap
from tests.fakes_vonage import API_KEY, API_SECRET, APPLICATION_ID, SIGNATURE_SECRET, FakeVonage, Reply, sign
from tests.helpers import ALEX, PAT, PROXY, wait_for

PAYLOADS = Path(__file__).parent / "payloads" / "vonage"
TEMPLATE = {"template_id": "reengage_v1", "variables": {"2": "Monday", "1": "Acme Housing"},
            "preview": "Acme Housing has a message for you. Reply to read it."}


def carrier() -> VonageCarrier:
    return VonageCarrier(Settings(API_KEY, API_SECRET, SIGNATURE_SECRET), Config())


def raw(name: str) -> RawRequest:
    return RawRequest("POST", "https://gw.example.com/webhooks/vonage/inbound", {}, (PAYLOADS / name).read_bytes(),
                      "application/json")


# --- The wire, as tables -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("inbound_whatsapp_text.json", InboundMessage("eeeeeeee-aaaa-bbbb-cccc-0123456789ab", PAT, PROXY,
                                                  "Is the pool heated?", channel=Channel.WHATSAPP)),
    ("inbound_whatsapp_image.json", InboundMessage("eeeeeeee-aaaa-bbbb-cccc-0123456789ac", PAT, PROXY,
                                                   "The leak under the sink", (
        "https://api-us.nexmo.com/v3/media/0b0a6a55-5b6c-4c5e-9a1d-2f7c8e1d4b3a",), channel=Channel.WHATSAPP)),
    ("inbound_whatsapp_button.json", InboundMessage("eeeeeeee-aaaa-bbbb-cccc-0123456789ad", PAT, PROXY, "Read it",
                                                    channel=Channel.WHATSAPP)),
    ("inbound_sms.json", InboundMessage("aaaaaaaa-bbbb-cccc-dddd-0123456789ab", PAT, PROXY, "Is the pool heated?")),
    ("inbound_mms.json", InboundMessage("cccccccc-dddd-eeee-ffff-0123456789ab", PAT, PROXY, "The leak under the sink",
                                        ("https://api-us.nexmo.com/v3/media/f2f7c8b1-0d1e-4c55-9a4b-2d7e9e6c3a11",))),
])
def test_parse_inbound_channels(name, expected):
    assert carrier().parse_inbound(raw(name)) == [expected]


def test_a_whatsapp_rejection_outside_the_window_is_outside_window():
    [update] = carrier().parse_status(raw("status_rejected_outside_window.json"))
    assert update == StatusUpdate("dddddddd-eeee-ffff-aaaa-0123456789ab", "undelivered", "1340")
    assert carrier().failure("1340").failure_class == FailureClass.OUTSIDE_WINDOW
    assert not carrier().failure("1340").permanent  # held and the template sent, never a DND of its own


URL = "https://gw.example.com/m/f/"


@pytest.mark.parametrize("message, expected", [
    (OutboundSms(1, PROXY, PAT, "Hi", channel=Channel.WHATSAPP),
     [{"channel": "whatsapp", "message_type": "text", "text": "Hi"}]),
    (OutboundSms(1, PROXY, PAT, "preview", channel=Channel.WHATSAPP,
                 template=Template("reengage_v1", {"2": "Monday", "1": "Acme", "10": "x"}, "preview")),
     [{"channel": "whatsapp", "message_type": "custom", "custom": {"type": "template", "template": {
         "name": "reengage_v1", "language": {"policy": "deterministic", "code": "en_US"},
         "components": [{"type": "body", "parameters": [{"type": "text", "text": "Acme"},
                                                        {"type": "text", "text": "Monday"},
                                                        {"type": "text", "text": "x"}]}]}}}]),
    (OutboundSms(1, PROXY, PAT, "Hi"), [{"channel": "sms", "message_type": "text", "text": "Hi"}]),
    (OutboundSms(1, PROXY, PAT, "Three", (URL + "1", URL + "2", URL + "3"),
                 media_types=("image/png", "video/mp4", "application/pdf")),
     [{"channel": "mms", "message_type": "image", "image": {"url": URL + "1", "caption": "Three"}},
      {"channel": "mms", "message_type": "video", "video": {"url": URL + "2"}},
      {"channel": "mms", "message_type": "file", "file": {"url": URL + "3"}}]),
    (OutboundSms(1, PROXY, PAT, "Card", (URL + "1",), media_types=("text/vcard",)),
     [{"channel": "sms", "message_type": "text", "text": "Card"},
      {"channel": "mms", "message_type": "vcard", "vcard": {"url": URL + "1"}}]),
], ids=["whatsapp_text", "whatsapp_template", "sms", "mms_three", "vcard"])
def test_what_vonage_is_asked_to_send(message, expected):
    assert payloads(message, "en_US") == expected


@pytest.mark.parametrize("content_type, kind", [("image/jpeg", "image"), ("audio/mpeg", "audio"),
                                                ("video/3gpp", "video"), ("text/x-vcard", "vcard"),
                                                ("application/pdf", "file")])
def test_mms_types(content_type, kind):
    assert mms_type(content_type) == kind


# --- Through a gateway --------------------------------------------------------------------------------------

def _key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


async def post_inbound(gateway, sender: str, text: str = "", *, channel: str = "sms", media: dict | None = None,
                       uuid: str | None = None) -> int:
    import uuid as uuids
    body = {"channel": channel, "message_uuid": uuid or str(uuids.uuid4()), "to": PROXY.lstrip("+"),
            "from": sender.lstrip("+"), "timestamp": "2026-11-30T06:00:00Z",
            **({"message_type": "image", "image": {"url": media["url"], "caption": text}} if media else
               {"message_type": "text", "text": text})}
    data = json.dumps(body).encode()
    async with gateway.client.post("/webhooks/vonage/inbound", data=data,
                                   headers={"Authorization": sign(data), "Content-Type": "application/json"}) as answer:
        return answer.status


async def _sms_to(fake: FakeVonage, phone: str, count: int) -> list[str]:
    async def found():
        bodies = fake.bodies_to(phone)
        return bodies if len(bodies) >= count else None
    return await wait_for(found, what=f"{count} SMS to {phone}")


async def _whatsapp_to(fake: FakeVonage, phone: str, count: int) -> list[dict]:
    async def found():
        sent = fake.whatsapp_to(phone)
        return sent if len(sent) >= count else None
    return await wait_for(found, what=f"{count} WhatsApp messages to {phone}")


async def _setup(gateway, fake: FakeVonage, *, opted_in: bool) -> dict:
    community = await gateway.community()
    status, body = await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/template", TEMPLATE)
    assert status == 200, body
    status, body = await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/contacts/{PAT}",
                                      {"channel": "whatsapp", "opted_in": opted_in})
    assert status == 200, body
    conversation = await gateway.conversation(community["id"])
    await _sms_to(fake, ALEX, 1)
    return conversation


async def _held(gateway, conversation_id: int, count: int, reason: str) -> None:
    async def found():
        held = [m for m in await gateway.messages(conversation_id) if m["kind"] == "relay" and m["status"] == "held"]
        return len(held) == count and all(m["status_reason"] == reason for m in held)
    await wait_for(found, what=f"{count} texts held for {reason}")


async def test_a_whatsapp_participant_on_vonage_talks_with_an_sms_participant(start_vonage, fake_vonage):
    gateway = await start_vonage()
    conversation = await _setup(gateway, fake_vonage, opted_in=False)
    assert await post_inbound(gateway, ALEX, "Yes, utilities too.") == 200
    await _held(gateway, conversation["id"], 1, "whatsapp_opt_in")  # never wrote, not opted in: nothing goes
    assert fake_vonage.whatsapp_to(PAT) == [] and fake_vonage.bodies_to(PAT) == []

    # Pat writes on WhatsApp: the held text goes on WhatsApp, as free text; Pat's text reaches Alex by SMS.
    assert await post_inbound(gateway, PAT, "Great, thanks!", channel="whatsapp") == 200
    [sent] = await _whatsapp_to(fake_vonage, PAT, 1)
    assert (sent["message_type"], sent["text"], sent["from"]) == ("text", "Yes, utilities too.", PROXY.lstrip("+"))
    assert (await _sms_to(fake_vonage, ALEX, 2))[1] == "Great, thanks!"
    await post_inbound(gateway, ALEX, "See you Monday.")
    assert (await _whatsapp_to(fake_vonage, PAT, 2))[1]["text"] == "See you Monday."
    assert fake_vonage.bodies_to(PAT) == []  # never by SMS


async def test_outside_the_window_vonage_sends_the_template_and_the_answer_releases_the_text(start_vonage,
                                                                                              fake_vonage):
    gateway = await start_vonage(vonage={"whatsapp_locale": "en_GB"})
    conversation = await _setup(gateway, fake_vonage, opted_in=True)
    await post_inbound(gateway, ALEX, "Are you still interested?")
    [template] = await _whatsapp_to(fake_vonage, PAT, 1)
    await _held(gateway, conversation["id"], 1, "whatsapp_window")
    assert template["message_type"] == "custom" and "text" not in template
    assert template["custom"]["template"]["name"] == "reengage_v1"
    assert template["custom"]["template"]["language"] == {"policy": "deterministic", "code": "en_GB"}
    assert [p["text"] for p in template["custom"]["template"]["components"][0]["parameters"]] == [
        "Acme Housing", "Monday"]

    assert await post_inbound(gateway, PAT, "Yes!", channel="whatsapp") == 200
    sent = await _whatsapp_to(fake_vonage, PAT, 2)
    assert sent[1]["text"] == "Are you still interested?"
    assert len([m for m in fake_vonage.whatsapp_to(PAT) if m["message_type"] == "custom"]) == 1


async def test_vonage_refusing_free_text_with_1340_holds_it_and_sends_the_template(start_vonage, fake_vonage):
    gateway = await start_vonage()
    conversation = await _setup(gateway, fake_vonage, opted_in=False)
    await post_inbound(gateway, PAT, "Hello", channel="whatsapp")  # the window is open, as far as we know
    await _sms_to(fake_vonage, ALEX, 2)
    fake_vonage.then(Reply(status=422, code="1340", title="Outside Allowed Window"))
    await post_inbound(gateway, ALEX, "Sorry for the delay.")
    await _held(gateway, conversation["id"], 1, "whatsapp_window")
    [template] = await _whatsapp_to(fake_vonage, PAT, 1)
    assert template["message_type"] == "custom"
    await post_inbound(gateway, PAT, "Here now", channel="whatsapp")
    assert (await _whatsapp_to(fake_vonage, PAT, 2))[1]["text"] == "Sorry for the delay."


async def test_a_picture_goes_through_vonage_as_an_mms_fetched_with_the_application_jwt(start_vonage, fake_vonage,
                                                                                         tmp_path):
    from tests.test_media import FAST, picture
    private, public = _key_pair()
    fake_vonage.public_key = public
    (tmp_path / "private.key").write_text(private)
    gateway = await start_vonage(media=FAST, vonage={"application_id": APPLICATION_ID,
                                                     "private_key_file": str(tmp_path / "private.key")})
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await _sms_to(fake_vonage, ALEX, 1)
    url = fake_vonage.add_media(picture(1), "image/png")
    assert await post_inbound(gateway, ALEX, "The lease", media={"url": url}) == 200

    async def mms():
        return [m for m in fake_vonage.sent if m["channel"] == "mms" and "+" + m["to"] == PAT]
    [sent] = await wait_for(mms, what="an MMS to Pat")
    assert sent["message_type"] == "image" and unwrap(sent["image"]["caption"]) == "The lease"
    assert sent["image"]["url"].startswith(gateway.config.public_url + "/")
    assert fake_vonage.fetched and fake_vonage.unauthorized == 0
    async with gateway.client.get(sent["image"]["url"][len(gateway.config.public_url):]) as answer:
        assert answer.status == 200 and await answer.read() == picture(1)
    relayed = [m for m in await gateway.messages(conversation["id"]) if m["to"] == PAT and m["kind"] == "relay"]
    assert relayed and relayed[-1]["status"] in ("accepted", "sent", "delivered")


async def test_without_the_application_jwt_secure_media_is_refused_and_the_sender_told(start_vonage, fake_vonage):
    from tests.test_media import FAST, picture
    _, public = _key_pair()
    fake_vonage.public_key = public
    gateway = await start_vonage(media={**FAST, "fetch_attempts": 1})
    community = await gateway.community()
    await gateway.conversation(community["id"])
    await _sms_to(fake_vonage, ALEX, 1)
    await post_inbound(gateway, ALEX, "The lease", media={"url": fake_vonage.add_media(picture(1), "image/png")})
    await _sms_to(fake_vonage, ALEX, 2)  # the notice of what was not relayed
    assert fake_vonage.unauthorized >= 1 and fake_vonage.fetched == []


@pytest.mark.parametrize("settings, error", [
    ({"application_id": APPLICATION_ID}, "goes with application_id"),
    ({"private_key_file": "/nonexistent/private.key"}, "goes with application_id"),
    ({"application_id": APPLICATION_ID, "private_key_file": "/nonexistent/private.key"}, "cannot be read"),
    ({"application_id": APPLICATION_ID, "private_key_file": __file__}, "not a PEM private key"),
])
def test_the_application_settings_are_checked(settings, error):
    from gateway.carriers.vonage import check
    from gateway.config import ConfigError
    with pytest.raises(ConfigError, match=error):
        check(Settings(API_KEY, API_SECRET, SIGNATURE_SECRET, **settings), Config())


async def test_three_pictures_go_as_three_mms_and_the_first_answer_is_the_send(fake_vonage):
    import aiohttp

    from gateway.carriers import Accepted, Resources
    from gateway.ops.metrics import Metrics
    vonage = VonageCarrier(Settings(API_KEY, API_SECRET, SIGNATURE_SECRET, api_base=fake_vonage.url), Config())
    async with aiohttp.ClientSession() as session:
        await vonage.open(Resources(session, None, Metrics()))
        message = OutboundSms(7, PROXY, PAT, "Three", (URL + "1", URL + "2", URL + "3"),
                              media_types=("image/png", "image/jpeg", "image/gif"))
        result = await vonage.send(message, "https://gw.example.com/webhooks/vonage/status?message_id=7")
        assert [(m["channel"], m["image"]["url"], m["client_ref"]) for m in fake_vonage.sent] == [
            ("mms", URL + str(n), "7") for n in (1, 2, 3)]
        assert result == Accepted(fake_vonage.sent[0]["message_uuid"])
        assert {m["webhook_url"] for m in fake_vonage.sent} == {
            "https://gw.example.com/webhooks/vonage/status?message_id=7"}

        # A later part refused: the send stands (the first went); a first part refused: nothing more is tried.
        fake_vonage.sent.clear()
        fake_vonage.then(Reply(), Reply(status=422, code="1020", title="Invalid params"))
        assert isinstance(await vonage.send(message, "https://gw.example.com/s"), Accepted)
        assert len(fake_vonage.sent) == 2
        fake_vonage.sent.clear()
        fake_vonage.then(Reply(status=422, code="1170", title="Invalid to"))
        result = await vonage.send(message, "https://gw.example.com/s")
        assert not isinstance(result, Accepted) and fake_vonage.sent == [] and result.code == "1170"


async def test_1340_in_a_status_callback_holds_a_copy_and_sends_the_template(start_vonage, fake_vonage):
    gateway = await start_vonage()
    conversation = await _setup(gateway, fake_vonage, opted_in=False)
    await post_inbound(gateway, PAT, "Hello", channel="whatsapp")
    await _sms_to(fake_vonage, ALEX, 2)
    await post_inbound(gateway, ALEX, "Taken, then failed")
    [sent] = await _whatsapp_to(fake_vonage, PAT, 1)
    status = json.loads((PAYLOADS / "status_rejected_outside_window.json").read_bytes())
    data = json.dumps({**status, "message_uuid": sent["message_uuid"]}).encode()
    path = sent["webhook_url"][len(gateway.config.public_url):]
    async with gateway.client.post(path, data=data, headers={"Authorization": sign(data),
                                                             "Content-Type": "application/json"}) as answer:
        assert answer.status == 200
    await _held(gateway, conversation["id"], 1, "whatsapp_window")
    assert (await _whatsapp_to(fake_vonage, PAT, 2))[1]["message_type"] == "custom"
    await post_inbound(gateway, PAT, "Back", channel="whatsapp")
    assert (await _whatsapp_to(fake_vonage, PAT, 3))[2]["text"] == "Taken, then failed"


@pytest.mark.parametrize("media_type, kind", [("image/jpeg", "image"), ("video/mp4", "video")])
def test_a_picture_to_whatsapp_is_one_message_with_its_caption(media_type, kind):
    message = OutboundSms(1, PROXY, PAT, "The lease", ("https://gw/media/1/x/y",), Channel.WHATSAPP,
                          media_types=(media_type,))
    assert payloads(message, "en_US") == [{"channel": "whatsapp", "message_type": kind,
                                           kind: {"url": "https://gw/media/1/x/y", "caption": "The lease"}}]

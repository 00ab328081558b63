"""The telnyx carrier: its payload files parsed, its Ed25519 signatures checked (valid, forged, stale, replayed),
its error codes, sending against a local server speaking its API, its Number Lookup, and a whole relay."""

import base64
import json
import time

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.carriers import InboundMessage, LineAnswer, NotANumber, RawRequest, StatusUpdate
from gateway.carriers.telnyx import ERROR_CODES, Settings, TelnyxLookup, TelnyxWire, check, _line_answer
from gateway.compliance.preferences import dnd_for
from gateway.config import Config, ConfigError
from gateway.errors import InvalidInput, Malformed, UnsupportedMedia
from gateway.verification import numbers
from gateway.verification.numbers import Policy
from gateway.vocabulary import Dnd, FailureClass
from tests.fakes_telnyx import API_KEY, PAYLOADS, Reply, Signer, event, payload
from tests.fakes import unwrap
from tests.helpers import ALEX, PAT, PROXY, PROXY_2, SAM, wait_for

MID = "40385f64-5717-4562-b3fc-2c963f66afa6"
URL = "https://gw.example.com/webhooks/telnyx/sms"
US_CA = Policy("US", ("US", "CA"))


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer()


def _raw(body: bytes, headers: dict, content_type: str = "application/json") -> RawRequest:
    return RawRequest("POST", URL, headers, body, content_type, None)


def _signed(signer: Signer, name: str, timestamp: int | None = None) -> RawRequest:
    body = (PAYLOADS / name).read_bytes()
    return _raw(body, signer.headers(body, timestamp))


# --- Parsing the documentation's payloads -----------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("inbound_sms.json", InboundMessage("7ee4241c-f127-47e5-9c34-3aac291f8058", PAT, PROXY, "Is the pool heated?")),
    ("inbound_mms.json", InboundMessage("d3b4a8f0-33c9-4e7a-8f0b-2a1c5e6d7f80", PAT, PROXY, "",
                                        ("https://media.telnyx.example/7a1b2c3d-photo.jpg",))),
    ("inbound_unicode.json", InboundMessage("f0e1d2c3-b4a5-4968-8778-695a4b3c2d1e", "+525512345678", PROXY,
                                            "¿Hay piscina? 🏊 €20")),  # the NUL dropped
    ("status_delivered.json", None),  # a status event at the inbound path: not ours, ignored
])
def test_parse_inbound(signer, name, expected):
    assert TelnyxWire(signer.public_key).parse_inbound(_signed(signer, name)) == ([expected] if expected else [])


@pytest.mark.parametrize("name, expected", [
    ("status_sent.json", StatusUpdate(MID, "sent", None)),
    ("status_delivered.json", StatusUpdate(MID, "delivered", None)),
    ("status_delivery_unconfirmed.json", StatusUpdate(MID, "sent", None)),
    ("status_delivery_failed.json", StatusUpdate(MID, "undelivered", "40001")),
    ("status_sending_failed.json", StatusUpdate(MID, "failed", "40300")),
])
def test_parse_status(signer, name, expected):
    assert TelnyxWire(signer.public_key).parse_status(_signed(signer, name)) == [expected]


@pytest.mark.parametrize("status, expected", [
    ("queued", "accepted"), ("sending", "sending"), ("expired", "undelivered"),
    ("webhook_delivered", None), ("received", None), ("something_new", None),
])
def test_every_recipient_status_maps_or_is_ignored(signer, status, expected):
    body = event("message.finalized", MID, status=status)
    updates = TelnyxWire(signer.public_key).parse_status(_raw(body, signer.headers(body)))
    assert updates == ([StatusUpdate(MID, expected, None)] if expected else [])


def test_an_inbound_event_at_the_status_path_is_refused_naming_the_right_path(signer):
    with pytest.raises(Malformed, match="/webhooks/telnyx/sms"):
        TelnyxWire(signer.public_key).parse_status(_signed(signer, "inbound_sms.json"))


@pytest.mark.parametrize("change, reason", [
    (lambda p: p.pop("id"), "payload.id"),
    (lambda p: p.update(to=[]), "payload.to"),
    (lambda p: p.update({"from": {"phone_number": 15}}), "payload.from"),
    (lambda p: p.update(id="x\x00"), "NUL"),
    (lambda p: p.update(text="x" * 6401), "longer than"),
    (lambda p: p.update(media=[{"url": 3}]), "media"),
])
def test_parse_inbound_refuses_malformed(signer, change, reason):
    body = payload("inbound_sms.json")
    change(body["data"]["payload"])
    raw = json.dumps(body).encode()
    with pytest.raises(Malformed, match=reason):
        TelnyxWire(signer.public_key).parse_inbound(_raw(raw, signer.headers(raw)))


def test_numbers_in_digits_get_their_plus(signer):
    body = event("message.received", "m1", sender="14155552671", to="14155550100")
    [sms] = TelnyxWire(signer.public_key).parse_inbound(_raw(body, signer.headers(body)))
    assert (sms.from_number, sms.to_number) == (PAT, PROXY)


# --- Signatures ---------------------------------------------------------------------------------------------------

def _forged(signer, body):
    return Signer().headers(body)


def _tampered(signer, body):
    return signer.headers(body + b" ")


def _restamped(signer, body):  # a valid signature, its timestamp header changed
    return {**signer.headers(body), "telnyx-timestamp": str(int(time.time()) - 1)}


@pytest.mark.parametrize("headers, valid", [
    (lambda s, b: s.headers(b), True),
    (lambda s, b: s.headers(b, int(time.time()) - 290), True),  # within 5 minutes
    (lambda s, b: s.headers(b, int(time.time()) + 290), True),
    (lambda s, b: s.headers(b, int(time.time()) - 310), False),  # stale
    (lambda s, b: s.headers(b, int(time.time()) + 310), False),  # from the future
    (_forged, False), (_tampered, False), (_restamped, False),
    (lambda s, b: {}, False),
    (lambda s, b: {**s.headers(b), "telnyx-signature-ed25519": "not base64!"}, False),
    (lambda s, b: {**s.headers(b), "telnyx-signature-ed25519": base64.b64encode(b"short").decode()}, False),
    (lambda s, b: {**s.headers(b), "telnyx-signature-ed25519": "\udce9"}, False),
    (lambda s, b: {**s.headers(b), "telnyx-timestamp": "12e3"}, False),
    (lambda s, b: {**s.headers(b), "telnyx-timestamp": "-5"}, False),
    (lambda s, b: {**s.headers(b), "telnyx-timestamp": "9" * 5000}, False),
    (lambda s, b: {**s.headers(b), "telnyx-timestamp": "\u0661" * 10}, False),  # digits, not ASCII
])
def test_verify(signer, headers, valid):
    body = (PAYLOADS / "inbound_sms.json").read_bytes()
    assert TelnyxWire(signer.public_key).verify(_raw(body, headers(signer, body))) is valid


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=40), skew=st.integers(-299, 299), flip=st.integers(-1, 10_000))
def test_what_is_signed_verifies_and_any_change_does_not(signer, text, skew, flip):
    """A signed event verifies within the window; a second more on the timestamp, or any body byte changed
    (flip >= 0), does not (an unreadable body is refused too, with 400)."""
    body = event("message.received", "m1", text=text)
    headers = signer.headers(body, int(time.time()) + skew)
    wire = TelnyxWire(signer.public_key)
    assert wire.verify(_raw(body, headers))
    if flip < 0:
        changed, headers = body, {**headers, "telnyx-timestamp": str(int(headers["telnyx-timestamp"]) + 1)}
    else:
        changed = bytearray(body)
        changed[flip % len(body)] ^= 0x01
    try:
        assert not wire.verify(_raw(bytes(changed), headers))
    except Malformed:
        pass


def test_the_tolerance_is_a_setting(signer):
    body = (PAYLOADS / "inbound_sms.json").read_bytes()
    old = signer.headers(body, int(time.time()) - 600)
    assert not TelnyxWire(signer.public_key).verify(_raw(body, old))
    assert TelnyxWire(signer.public_key, tolerance=900).verify(_raw(body, old))


@pytest.mark.parametrize("body, content_type, error", [
    (b'{"data": {}}', "application/x-www-form-urlencoded", UnsupportedMedia),
    (b"\xff\xfe", "application/json", Malformed),
    (b"[1, 2]", "application/json", Malformed),
    (b'{"data": {"event_type": "message.received"}}', "application/json", Malformed),
    (b"[" * 100000, "application/json", Malformed),
])
def test_unreadable_bodies_are_refused_before_the_signature(signer, body, content_type, error):
    with pytest.raises(error):
        TelnyxWire(signer.public_key).verify(_raw(body, signer.headers(body), content_type))


def test_a_key_that_is_no_key_verifies_nothing(signer):
    body = (PAYLOADS / "inbound_sms.json").read_bytes()
    assert not TelnyxWire("bm90IGEga2V5").verify(_raw(body, signer.headers(body)))


@pytest.mark.parametrize("settings, setting", [
    (Settings(public_key="x"), "api_key"),
    (Settings(api_key=API_KEY), "public_key"),
    (Settings(api_key=API_KEY, public_key="bm90IGEga2V5"), "public_key"),
    (Settings(api_key=API_KEY, public_key=Signer().public_key, timestamp_tolerance=0), "timestamp_tolerance"),
    (Settings(api_key=API_KEY, public_key=Signer().public_key, api_base="ftp://x"), "api_base"),
])
def test_check_names_the_bad_setting(settings, setting):
    with pytest.raises(ConfigError, match=f"telnyx.{setting} \\(TELNYX_{setting.upper()}\\)"):
        check(settings, Config())


# --- Error codes ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("code, failure_class, dnd", [
    ("40300", FailureClass.OPTED_OUT, Dnd.PERMANENT),
    ("40001", FailureClass.LANDLINE, Dnd.TEMPORARY),
    ("40012", FailureClass.INVALID_NUMBER, Dnd.TEMPORARY),
    ("40002", FailureClass.FILTERED, None), ("40015", FailureClass.FILTERED, None),
    ("40011", FailureClass.RATE_LIMITED, None), ("10011", FailureClass.RATE_LIMITED, None),
    ("10002", FailureClass.INVALID_NUMBER, None), ("10016", FailureClass.INVALID_NUMBER, None),
    ("40008", FailureClass.OTHER, None),  # general-purpose "undeliverable": not sure enough to count
    ("40006", FailureClass.OTHER, None),  # the recipient's carrier down: not the phone's doing
])
def test_error_codes_map_onto_failure_classes_and_dnd(signer, code, failure_class, dnd):
    failure = TelnyxWire(signer.public_key).failure(code)
    assert (failure.failure_class, dnd_for(failure)) == (failure_class, dnd)
    assert code in ERROR_CODES or failure_class == FailureClass.OTHER


# --- Line types ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("lookup_mobile.json", LineAnswer("mobile", "T-Mobile")),
    ("lookup_landline.json", LineAnswer("landline", "AT&T")),
    ("lookup_voip.json", LineAnswer("voip", "Telnyx/3")),
])
def test_lookup_answers(name, expected):
    assert _line_answer(payload(name)["data"]) == expected


# --- Against a gateway and the fake ----------------------------------------------------------------------------------

# (the fake_telnyx and start_telnyx fixtures are in conftest.py)

async def _conversation(gateway):
    community = await gateway.community()
    return await gateway.conversation(community["id"])


async def _messages_where(gateway, conversation_id, check, what):
    async def found():
        messages = await gateway.messages(conversation_id)
        return messages if check(messages) else None

    return await wait_for(found, what=what)


async def _inbound(gateway, fake, sender, text, message_id, timestamp=None, signer=None):
    body = event("message.received", message_id, sender=sender, to=PROXY, text=text)
    headers = (signer or fake.signer).headers(body, timestamp)
    async with gateway.client.post("/webhooks/telnyx/sms", data=body, headers=headers) as response:
        return response.status, await response.text()


async def test_a_whole_relay_through_telnyx(start_telnyx, fake_telnyx):
    gateway = await start_telnyx()
    conversation = await _conversation(gateway)
    await wait_for(lambda: _resolved(len(fake_telnyx.sent) == 1), what="the notification")
    [notification] = fake_telnyx.sent
    [ours] = await gateway.messages(conversation["id"])
    assert notification["webhook_url"] == \
        f"{gateway.config.public_url}/webhooks/telnyx/status?message_id={ours['id']}"
    assert (notification["from"], notification["to"]) == (PROXY, ALEX)
    assert notification["use_profile_webhooks"] is False and "messaging_profile_id" not in notification

    assert await _inbound(gateway, fake_telnyx, ALEX, "Yes, utilities too.", "in-1") == (200, "")
    await wait_for(lambda: _resolved(len(fake_telnyx.sent) == 2), what="the relay")
    relay = fake_telnyx.sent[1]
    assert (relay["from"], relay["to"], unwrap(relay["text"])) == (PROXY, PAT, "Yes, utilities too.")

    for status in ("sent", "delivered"):  # Telnyx posts to the URL each send named, signed
        assert (await fake_telnyx.report(relay, status))[0] == 200
    messages = await _messages_where(gateway, conversation["id"],
                                     lambda ms: any(m["status"] == "delivered" for m in ms), "delivered")
    [delivered] = [m for m in messages if m["status"] == "delivered"]
    assert delivered["carrier_sid"] == relay["id"] and delivered["to"] == PAT


async def _resolved(value):
    return value


async def test_replayed_inbound_stores_once_stale_and_forged_are_refused(start_telnyx, fake_telnyx, db):
    gateway = await start_telnyx()
    await _conversation(gateway)
    body = event("message.received", "in-replayed", sender=ALEX, to=PROXY, text="Once only")
    headers = fake_telnyx.signer.headers(body)
    for _ in range(3):  # Telnyx retries; an attacker may replay: the same message is stored once
        async with gateway.client.post("/webhooks/telnyx/sms", data=body, headers=headers) as response:
            assert response.status == 200
    assert await db.fetchval("SELECT count(*) FROM messages WHERE carrier_sid = 'in-replayed'") == 1
    stale = await _inbound(gateway, fake_telnyx, ALEX, "old", "in-stale", timestamp=int(time.time()) - 600)
    forged = await _inbound(gateway, fake_telnyx, ALEX, "fake", "in-forged", signer=Signer())
    assert (stale[0], forged[0]) == (403, 403)
    assert await db.fetchval("SELECT count(*) FROM messages WHERE carrier_sid IN ('in-stale', 'in-forged')") == 0


async def test_a_status_posted_to_the_inbound_path_or_an_inbound_to_the_status_path(start_telnyx, fake_telnyx):
    gateway = await start_telnyx()
    url = gateway.config.public_url
    sent = event("message.finalized", "not-ours", status="delivered")
    assert (await fake_telnyx.post(url + "/webhooks/telnyx/sms", sent))[0] == 200  # ignored
    status, text = await fake_telnyx.post(url + "/webhooks/telnyx/status", event("message.received", "in-x"))
    assert status == 400 and "wrong_path" in text


async def _final(gateway, conversation_id, statuses=("accepted", "failed")):
    messages = await _messages_where(gateway, conversation_id, lambda ms: ms and ms[0]["status"] in statuses,
                                     "a final send result")
    return messages[0]


@pytest.mark.parametrize("reply, code, dnd", [
    (Reply(400, "40300", "Blocked due to STOP message"), "40300", "permanent"),
    (Reply(422, "10016", "Phone number must be in +E.164 format"), "10016", None),
    (Reply(400, "10002", "Invalid phone number"), "10002", None),
    (Reply(422, "40001", "Not routable"), "40001", None),  # temporary class: counts, one is not enough
    (Reply(403, "10010", "Authorization failed"), "10010", None),
    (Reply(400), "400", None),  # no code in the answer: the HTTP status stands for it
])
async def test_send_errors_fail_the_message_with_their_code(start_telnyx, fake_telnyx, db, reply, code, dnd):
    gateway = await start_telnyx()
    fake_telnyx.then(reply)
    conversation = await _conversation(gateway)
    message = await _final(gateway, conversation["id"])
    assert (message["status"], message["error_code"], message["attempts"]) == ("failed", code, 1)
    assert len(fake_telnyx.requests) == 1  # a 4xx is not retried
    if reply.title:
        assert reply.title in message["error_message"]
    if dnd is not None:  # DND is recorded just after the message is marked failed
        await wait_for(lambda: _dnd_is(db, dnd), what=f"{dnd} DND recorded")
    # The gateway has handled the refusal whole once its send is counted; then no DND means none.
    await wait_for(lambda: _counted_failed(gateway), what="the failed send counted")
    assert await db.fetchval("SELECT dnd FROM contacts WHERE phone = $1", ALEX) == dnd


async def _dnd_is(db, dnd):
    return await db.fetchval("SELECT dnd FROM contacts WHERE phone = $1", ALEX) == dnd


async def _counted_failed(gateway):
    return gateway.metrics.sends.labels("failed")._value.get() >= 1


async def test_429_with_retry_after_and_5xx_are_retried_then_sent(start_telnyx, fake_telnyx):
    gateway = await start_telnyx()
    fake_telnyx.then(Reply(429, "10011", "Too many requests", retry_after="0"), Reply(503))
    conversation = await _conversation(gateway)
    message = await _final(gateway, conversation["id"])
    assert (message["status"], message["attempts"]) == ("accepted", 3)
    assert len(fake_telnyx.requests) == 3 and message["carrier_sid"] == fake_telnyx.sent[0]["id"]


async def test_wrong_api_key_fails_the_message_visibly(start_telnyx, fake_telnyx):
    gateway = await start_telnyx(telnyx={"api_key": "wrong", "messaging_profile_id": "profile-1"})
    conversation = await _conversation(gateway)
    message = await _final(gateway, conversation["id"])
    assert (message["status"], message["error_code"]) == ("failed", "10009")


async def test_a_failed_delivery_reported_later_is_applied_with_its_code(start_telnyx, fake_telnyx, db):
    gateway = await start_telnyx()
    conversation = await _conversation(gateway)
    await _final(gateway, conversation["id"])
    errors = [{"code": "40300", "title": "Blocked due to STOP message", "detail": ""}]
    assert (await fake_telnyx.report(fake_telnyx.sent[0], "delivery_failed", errors))[0] == 200
    message = await _final(gateway, conversation["id"], ("undelivered",))
    assert message["error_code"] == "40300"
    await wait_for(lambda: db.fetchval("SELECT dnd = 'permanent' FROM contacts WHERE phone = $1", ALEX),
                   what="the DND")


async def test_the_number_lookup_against_the_fake(fake_telnyx):
    fake_telnyx.line_types["+14155550199"] = "fixed line"
    settings = Settings(api_key=API_KEY, api_base=fake_telnyx.url)
    async with aiohttp.ClientSession() as session:
        lookup = TelnyxLookup(settings, session)
        assert (await lookup.lookup(PAT)).line_type == "mobile"
        assert (await lookup.lookup("+14155550199")).line_type == "landline"
        fake_telnyx.invalid.add("+14150000000")
        with pytest.raises(NotANumber):
            await lookup.lookup("+14150000000")
        assert fake_telnyx.lookups == [PAT, "+14155550199", "+14150000000"]




async def test_telnyx_beside_twilio_each_number_relays_through_its_own(start_telnyx, fake_telnyx, fake_twilio):
    gateway = await start_telnyx(carrier={"also": "twilio"}, twilio={"api_base": fake_twilio.url})
    on_telnyx = await gateway.community(numbers=[PROXY], name="On Telnyx")
    on_twilio = await gateway.community(numbers=[{"phone": PROXY_2, "carrier": "twilio"}], name="On Twilio")
    await gateway.conversation(on_telnyx["id"])
    await gateway.conversation(on_twilio["id"], prospect=(SAM, "Sam"))
    await wait_for(lambda: _resolved(fake_telnyx.sent and fake_twilio.sent), what="both notifications")
    assert ([m["from"] for m in fake_telnyx.sent], [m["From"] for m in fake_twilio.sent]) == ([PROXY], [PROXY_2])
    # A Telnyx-signed text to the Twilio number is not Telnyx's to deliver.
    body = event("message.received", "in-cross", sender=ALEX, to=PROXY_2, text="Hi")
    status, text = await fake_telnyx.post(gateway.config.public_url + "/webhooks/telnyx/sms", body)
    assert status == 403 and "wrong_carrier" in text


@pytest.mark.parametrize("kind, outcome", [
    ("mobile", "mobile"), ("voip", "voip"), ("fixed line", "landline"), ("toll free", "toll_free"),
    ("fixed line or mobile", "unknown"),
])
async def test_telnyx_as_the_line_type_lookup(start_telnyx, fake_telnyx, db, kind, outcome):
    gateway = await start_telnyx(lookup={"name": "telnyx"})
    fake_telnyx.line_types[PAT] = kind
    try:
        checked = await numbers.check(gateway.line_types, PAT, field="phone", policy=US_CA)
        assert checked.line_type == outcome
    except InvalidInput as error:
        assert error.code == outcome
    assert fake_telnyx.lookups == [PAT]
    if outcome in ("mobile", "voip"):
        assert await db.fetchval("SELECT source FROM line_types WHERE phone = $1", PAT) == "telnyx"


async def test_telnyx_lookup_says_no_such_number(start_telnyx, fake_telnyx):
    gateway = await start_telnyx(lookup={"name": "telnyx"})
    fake_telnyx.invalid.add(PAT)
    with pytest.raises(InvalidInput, match="no such number"):
        await numbers.check(gateway.line_types, PAT, field="phone", policy=US_CA)


async def test_early_late_and_repeated_status_events(start_telnyx, fake_telnyx):
    """Telnyx may post message.sent before its send answer reaches us, and repeat or reorder events."""
    gateway = await start_telnyx()
    fake_telnyx.then(Reply(delay=0.5, id="early-1"))
    conversation = await _conversation(gateway)
    await wait_for(lambda: _resolved(fake_telnyx.requests), what="the send under way")
    early = {"id": "early-1", "webhook_url": fake_telnyx.requests[0]["webhook_url"]}
    assert (await fake_telnyx.report(early, "sent"))[0] == 200  # before the answer
    await _messages_where(gateway, conversation["id"], lambda ms: ms[0]["carrier_sid"] == "early-1", "the answer")
    await _messages_where(gateway, conversation["id"], lambda ms: ms[0]["status"] == "sent", "the early status")
    for status in ("delivered", "delivered", "sent", "queued"):  # repeated, then late ones
        assert (await fake_telnyx.report(early, status))[0] == 200
    [message] = await gateway.messages(conversation["id"])
    assert message["status"] == "delivered"


@pytest.mark.parametrize("path", ["/webhooks/telnyx/sms", "/webhooks/telnyx/status?message_id=1"])
@pytest.mark.parametrize("body, headers, status", [
    (b"not json", {"Content-Type": "application/json"}, 400),
    (b"a=1", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
    (b'{"data": {"event_type": "message.sent", "payload": {}}}', {"Content-Type": "application/json"}, 403),
    (b'{"data": {"event_type": "message.sent", "payload": {}}}', {"Content-Type": "application/json",
                                                                     "telnyx-timestamp": "9" * 5000}, 403),
])
async def test_bad_requests_get_a_4xx_never_a_5xx(start_telnyx, path, body, headers, status):
    gateway = await start_telnyx()
    async with gateway.client.post(path, data=body, headers=headers) as response:
        assert response.status == status, await response.text()

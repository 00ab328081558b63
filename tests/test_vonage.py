"""The vonage carrier (Messages API v1): parsing payloads shaped as in Vonage's docs, its signed webhooks (JWT
HS256 with payload_hash), sending against a local server speaking its API, and a whole relay through it."""

import hashlib
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import jwt
import pytest

from gateway.carriers import InboundMessage, LookupFailed, NotANumber, RawRequest, StatusUpdate
from gateway.carriers.vonage import ERROR_CODES, Settings, VonageCarrier, VonageLookup, check_lookup
from gateway.config import Config, ConfigError
from gateway.errors import InvalidInput, Malformed, UnsupportedMedia
from gateway.verification import numbers
from gateway.verification.numbers import Policy
from gateway.vocabulary import FailureClass
from tests.fakes_vonage import API_KEY, API_SECRET, SIGNATURE_SECRET, FakeVonage, Reply, sign
from tests.helpers import ALEX, PAT, PROXY, wait_for

PAYLOADS = Path(__file__).parent / "payloads" / "vonage"
INBOUND = "/webhooks/vonage/inbound"
STATUS = "/webhooks/vonage/status"


def carrier(secret: str = SIGNATURE_SECRET, tolerance: int = 300) -> VonageCarrier:
    return VonageCarrier(Settings(API_KEY, API_SECRET, secret, timestamp_tolerance=tolerance), Config())


def raw(body: bytes, authorization: str | None = None, content_type: str = "application/json",
        charset: str | None = None) -> RawRequest:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return RawRequest("POST", "https://gw.example.com" + INBOUND, headers, body, content_type, charset)


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


# --- Parsing ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("inbound_sms.json", InboundMessage("aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "+14155552671", "+14155550100",
                                        "Is the pool heated?")),
    ("inbound_unicode.json", InboundMessage("bbbbbbbb-cccc-dddd-eeee-0123456789ab", "+525512345678",
                                            "+14155550100", "¿Hay piscina? 🏊 €20")),
    ("inbound_mms.json", InboundMessage("cccccccc-dddd-eeee-ffff-0123456789ab", "+14155552671", "+14155550100",
                                        "The leak under the sink", (
        "https://api-us.nexmo.com/v3/media/f2f7c8b1-0d1e-4c55-9a4b-2d7e9e6c3a11",))),
])
def test_parse_inbound(name, expected):
    assert carrier().parse_inbound(raw(payload(name))) == [expected]


SENT_UUID = "dddddddd-eeee-ffff-aaaa-0123456789ab"


@pytest.mark.parametrize("name, expected", [
    ("status_submitted.json", StatusUpdate(SENT_UUID, "sent", None)),
    ("status_delivered.json", StatusUpdate(SENT_UUID, "delivered", None)),
    ("status_read.json", StatusUpdate(SENT_UUID, "read", None)),
    ("status_rejected.json", StatusUpdate(SENT_UUID, "undelivered", "1180")),
    ("status_rejected_opted_out.json", StatusUpdate(SENT_UUID, "undelivered", "1240")),
    ("status_undeliverable.json", StatusUpdate(SENT_UUID, "failed", "1100")),
])
def test_parse_status(name, expected):
    assert carrier().parse_status(raw(payload(name))) == [expected]


@pytest.mark.parametrize("error, code", [
    ({"type": "https://developer.vonage.com/api-errors/messages#1210", "title": 1210}, "1210"),
    ({"type": "https://developer.vonage.com/api-errors/messages#1210", "title": "1210"}, "1210"),
    ({"type": "https://developer.vonage.com/api-errors/messages#1250", "title": "Unroutable"}, "1250"),
    ({"title": "Something"}, None),
    ("not an object", None),
])
def test_status_error_code_is_the_title_or_the_type_fragment(error, code):
    body = json.dumps({"message_uuid": SENT_UUID, "status": "rejected", "error": error}).encode()
    assert carrier().parse_status(raw(body)) == [StatusUpdate(SENT_UUID, "undelivered", code)]


def test_unknown_status_is_not_applied():
    body = json.dumps({"message_uuid": SENT_UUID, "status": "something_new"}).encode()
    assert carrier().parse_status(raw(body)) == []


def test_nul_is_dropped_from_the_text():
    body = json.loads(payload("inbound_sms.json"))
    body["text"] = "a\x00b"
    [message] = carrier().parse_inbound(raw(json.dumps(body).encode()))
    assert message.body == "ab"


@pytest.mark.parametrize("change, reason", [
    ({"message_uuid": None}, "message_uuid: required"),
    ({"from": "1415\x00"}, "NUL"),
    ({"to": 14155550100}, "expected a string"),
    ({"text": "x" * 1601}, "longer than"),
    ({"channel": "viber_service"}, "channel"),
    ({"message_type": "location"}, "message_type"),
    ({"message_type": "image"}, "image: required"),
])
def test_parse_inbound_refuses_malformed(change, reason):
    body = {**json.loads(payload("inbound_sms.json")), **change}
    body = {key: value for key, value in body.items() if value is not None}
    with pytest.raises(Malformed, match=reason):
        carrier().parse_inbound(raw(json.dumps(body).encode()))


@pytest.mark.parametrize("body, content_type, charset, error", [
    (b"not json", "application/json", None, Malformed),
    (b"[1, 2]", "application/json", None, Malformed),
    (b"\xff\xfe", "application/json", None, Malformed),
    (b"a=b", "application/x-www-form-urlencoded", None, UnsupportedMedia),
    (b"{}", "application/json", "latin-1", UnsupportedMedia),
])
def test_unreadable_bodies_are_refused_before_the_signature(body, content_type, charset, error):
    with pytest.raises(error):
        carrier().verify(raw(body, sign(body), content_type, charset))


# --- Signatures ---------------------------------------------------------------------------------------------

BODY = payload("inbound_sms.json")


def _none_token(body: bytes) -> str:
    claims = {"iat": int(time.time()), "payload_hash": hashlib.sha256(body).hexdigest()}
    return "Bearer " + jwt.encode(claims, None, algorithm="none")


@pytest.mark.parametrize("authorization, valid", [
    (lambda: sign(BODY), True),
    (lambda: sign(BODY).replace("Bearer", "bearer"), True),
    (lambda: sign(BODY, issued=time.time() - 250), True),  # within the 300 s tolerance
    (lambda: sign(BODY, "another-signature-secret-of-32-bytes!"), False),  # forged: another secret
    (lambda: sign(BODY, issued=time.time() - 400), False),  # stale
    (lambda: sign(BODY, issued=time.time() + 400), False),  # from the future
    (lambda: sign(BODY, hashed=BODY + b" "), False),  # payload_hash of another body
    (lambda: sign(BODY).replace("Bearer ", "Basic "), False),
    (lambda: _none_token(BODY), False),  # alg "none" is never accepted
    (lambda: "Bearer not.a.jwt", False),
    (lambda: "Bearer \udce9", False),
    (lambda: "", False),
], ids=["valid", "lowercase_scheme", "within_tolerance", "forged", "stale", "future", "wrong_payload_hash",
        "basic_scheme", "alg_none", "not_a_jwt", "not_ascii", "missing"])
def test_verify(authorization, valid):
    """Each header is made when the test runs: a JWT's iat is checked against the clock."""
    assert carrier().verify(raw(BODY, authorization())) is valid


@pytest.mark.parametrize("iat", [None, "1700000000", True, 10 ** 400, float("nan")])
def test_a_jwt_without_a_usable_iat_is_refused(iat):
    claims = {"payload_hash": hashlib.sha256(BODY).hexdigest(), **({} if iat is None else {"iat": iat})}
    token = jwt.encode(claims, SIGNATURE_SECRET, algorithm="HS256")
    assert not carrier().verify(raw(BODY, "Bearer " + token))


def test_a_short_signature_secret_verifies_without_a_warning():
    """Vonage chooses its signature secrets; PyJWT's warning about short HMAC keys must not fire (warnings are
    errors here)."""
    assert carrier("short").verify(raw(BODY, sign(BODY, "short")))


def test_the_tolerance_is_a_setting():
    assert not carrier(tolerance=10).verify(raw(BODY, sign(BODY, issued=time.time() - 60)))


# --- Through a gateway --------------------------------------------------------------------------------------

@pytest.fixture
async def vonage(start_vonage):
    return await start_vonage()


async def post(gateway, path: str, body: dict | bytes, authorization: str | None = "signed", **signing):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if authorization == "signed":
        headers["Authorization"] = sign(data, **signing)
    elif authorization is not None:
        headers["Authorization"] = authorization
    async with gateway.client.post(path, data=data, headers=headers) as response:
        return response.status, await response.text()


def inbound(sender: str, to: str, text: str, uuid: str) -> dict:
    return {**json.loads(BODY), "from": sender.lstrip("+"), "to": to.lstrip("+"), "text": text,
            "message_uuid": uuid}


async def stored(gateway, sid: str) -> int:
    return await gateway.pool.fetchval("SELECT count(*) FROM messages WHERE carrier_sid = $1", sid)


@pytest.mark.parametrize("signing, expected, count", [
    ({}, 200, 1),
    ({"secret": "another-signature-secret-of-32-bytes!"}, 403, 0),  # forged
    ({"issued": -3600}, 403, 0),  # stale: an hour old
    ({"hashed": b"{}"}, 403, 0),  # payload_hash of another body
], ids=["valid", "forged", "stale", "wrong_payload_hash"])
async def test_inbound_webhook_signatures(vonage, signing, expected, count):
    await vonage.community()
    if "issued" in signing:
        signing = {"issued": time.time() + signing["issued"]}
    uuid = "eeeeeeee-0000-0000-0000-000000000001"
    status, text = await post(vonage, INBOUND, inbound(PAT, PROXY, "Hello?", uuid), **signing)
    assert status == expected, text
    assert await stored(vonage, uuid) == count


async def test_unsigned_webhooks_are_refused(vonage):
    await vonage.community()
    status, text = await post(vonage, INBOUND, inbound(PAT, PROXY, "Hello?", "u-1"), authorization=None)
    assert status == 403 and "bad_signature" in text
    status, _ = await post(vonage, STATUS, json.loads(payload("status_delivered.json")), authorization=None)
    assert status == 403


async def test_a_replayed_inbound_is_stored_once(vonage):
    await vonage.community()
    body = json.dumps(inbound(PAT, PROXY, "Hello?", "eeeeeeee-0000-0000-0000-000000000002")).encode()
    authorization = sign(body)
    for _ in range(3):  # the same signed request, as Vonage's retry or an attacker's replay within the tolerance
        status, text = await post(vonage, INBOUND, body, authorization=authorization)
        assert status == 200, text
    assert await stored(vonage, "eeeeeeee-0000-0000-0000-000000000002") == 1


async def test_bad_bodies_get_4xx(vonage):
    assert (await post(vonage, INBOUND, b"{not json"))[0] == 400
    status, _ = await post(vonage, INBOUND, {"from": "14155552671"})
    assert status == 400
    async with vonage.client.post(INBOUND, data={"a": "b"}) as response:
        assert response.status == 415


async def _notification(gateway) -> int:
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    return conversation["id"]


async def _final(gateway, conversation_id, statuses=("accepted", "failed")):
    async def check():
        [message] = await gateway.messages(conversation_id)
        return message if message["status"] in statuses else None

    return await wait_for(check, what="a final send result")


async def test_send_posts_the_messages_api_json_with_basic_auth(vonage, fake_vonage):
    conversation_id = await _notification(vonage)
    message = await _final(vonage, conversation_id)
    [request] = fake_vonage.requests
    assert set(request) == {"message_type", "text", "to", "from", "channel", "client_ref", "webhook_url",
                            "webhook_version"}
    assert request["webhook_version"] == "v1"  # the status webhooks in the shape parse_status reads
    assert (request["to"], request["from"], request["channel"]) == (ALEX[1:], PROXY[1:], "sms")
    assert request["client_ref"] == str(message["id"])
    assert request["webhook_url"] == f"{vonage.config.public_url}{STATUS}?message_id={message['id']}"
    assert message["carrier_sid"] == fake_vonage.sent[0]["message_uuid"]


async def test_429_with_retry_after_is_retried_then_sent(vonage, fake_vonage):
    fake_vonage.then(Reply(429, "throttled", "Too Many Requests", "Rate limit hit", retry_after="0"),
                     Reply(503, None, "Service Unavailable"))
    conversation_id = await _notification(vonage)
    message = await _final(vonage, conversation_id)
    assert message["status"] == "accepted" and message["attempts"] == 3
    assert len(fake_vonage.requests) == 3 and len(fake_vonage.sent) == 1


@pytest.mark.parametrize("status, code, failure_class", [
    (422, "1170", FailureClass.INVALID_NUMBER),
    (403, "1240", FailureClass.OPTED_OUT),
    (422, "1210", FailureClass.FILTERED),
    (422, "1180", FailureClass.UNREACHABLE),
    (422, "1000", FailureClass.RATE_LIMITED),
    (422, "1120", FailureClass.OTHER),  # illegal sender address: not mapped
    (403, "forbidden", FailureClass.OTHER),
])
async def test_send_errors_fail_the_message_with_their_code(vonage, fake_vonage, status, code, failure_class):
    fake_vonage.then(Reply(status, code, "Refused", "the detail"))
    conversation_id = await _notification(vonage)
    message = await _final(vonage, conversation_id)
    assert (message["status"], message["error_code"], message["attempts"]) == ("failed", code, 1)
    assert message["error_message"] == "Refused: the detail"
    assert carrier().failure(code).failure_class == failure_class
    assert len(fake_vonage.requests) == 1  # a 4xx is not retried


def test_every_failure_class_has_a_vonage_code():
    # outside_window: WhatsApp's 1340 (tests/test_vonage_channels.py).
    assert {failure.failure_class for failure in ERROR_CODES.values()} == set(FailureClass) - {
        FailureClass.OTHER, FailureClass.LANDLINE}


async def test_wrong_credentials_fail_the_message_visibly(start_vonage):
    gateway = await start_vonage(vonage={"api_secret": "wrong"})
    conversation_id = await _notification(gateway)
    message = await _final(gateway, conversation_id)
    assert (message["status"], message["error_code"]) == ("failed", "unauthorized")


async def _status(gateway, sent: dict, status: str, error: dict | None = None):
    """A status webhook for a message the fake accepted, posted where its webhook_url says."""
    url = urlsplit(sent["webhook_url"])
    body = {**json.loads(payload(f"status_{status}.json")), "message_uuid": sent["message_uuid"],
            "to": sent["to"], "from": sent["from"], "client_ref": sent["client_ref"]}
    if error:
        body["error"] = error
    return await post(gateway, f"{url.path}?{url.query}", body)


async def test_a_conversation_relays_through_vonage_and_is_delivered(vonage, fake_vonage):
    community = await vonage.community()
    conversation = await vonage.conversation(community["id"])
    await wait_for(lambda: _some(fake_vonage.bodies_to(ALEX)), what="the notification to the advocate")

    status, text = await post(vonage, INBOUND, inbound(ALEX, PROXY, "Yes, utilities too.",
                                                       "ffffffff-0000-0000-0000-000000000001"))
    assert status == 200, text
    await wait_for(lambda: _some(fake_vonage.bodies_to(PAT)), what="the relayed text to the prospect")
    assert fake_vonage.bodies_to(PAT) == ["Yes, utilities too."]
    relayed = next(m for m in fake_vonage.sent if m["to"] == PAT[1:])
    assert relayed["from"] == PROXY[1:]

    for step in ("submitted", "delivered"):
        status, text = await _status(vonage, relayed, step)
        assert status == 200, text

    async def delivered():
        messages = await vonage.messages(conversation["id"])
        relay = [m for m in messages if m["kind"] == "relay"]
        return relay if relay and relay[0]["status"] == "delivered" else None

    [relay] = await wait_for(delivered, what="the relayed message delivered")
    assert relay["carrier_sid"] == relayed["message_uuid"]
    late, _ = await _status(vonage, relayed, "submitted")  # a late status never moves it back
    assert late == 200 and (await vonage.message(relay["id"]))["status"] == "delivered"


async def test_a_rejected_status_with_an_opt_out_code_puts_the_phone_on_dnd(vonage, fake_vonage):
    community = await vonage.community()
    await vonage.conversation(community["id"])
    await wait_for(lambda: _some(fake_vonage.sent), what="the notification")
    status, text = await _status(vonage, fake_vonage.sent[0], "rejected", {
        "type": "https://developer.vonage.com/api-errors/messages#1240", "title": 1240, "detail": "Illegal Number"})
    assert status == 200, text

    async def on_dnd():
        return await vonage.pool.fetchval("SELECT count(*) FROM contacts WHERE phone = $1 AND dnd = 'permanent'",
                                          ALEX)

    await wait_for(on_dnd, what="the advocate on permanent DND")


async def test_a_status_before_the_send_is_recorded_is_kept(vonage):
    status, _ = await post(vonage, STATUS, {**json.loads(payload("status_delivered.json")),
                                            "message_uuid": "99999999-0000-0000-0000-000000000000"})
    assert status == 200


async def _some(value):
    return value


async def test_a_slow_send_times_out_and_is_retried(start_vonage, fake_vonage):
    gateway = await start_vonage(carrier={"send_timeout": 0.3})
    fake_vonage.then(Reply(delay=1.0))
    conversation_id = await _notification(gateway)
    message = await _final(gateway, conversation_id)
    assert message["status"] == "accepted" and message["attempts"] == 2


# --- Number Insight as the line-type lookup -------------------------------------------------------------------

US_CA = Policy("US", ("US", "CA"))


@pytest.mark.parametrize("settings_, missing", [
    (Settings(api_secret=API_SECRET), "VONAGE_API_KEY"),
    (Settings(api_key=API_KEY), "VONAGE_API_SECRET"),
    (Settings(API_KEY, API_SECRET, api_base="ftp://x"), "VONAGE_API_BASE"),
])
def test_check_lookup_names_the_missing_setting(settings_, missing):
    with pytest.raises(ConfigError, match=missing):
        check_lookup(settings_, Config())


def test_check_lookup_needs_no_signature_secret():
    check_lookup(Settings(API_KEY, API_SECRET), Config())  # the lookup alone: no webhooks to check


async def _look_up(fake: FakeVonage, phone: str = PAT, secret: str = API_SECRET):
    async with aiohttp.ClientSession() as session:
        return await VonageLookup(Settings(API_KEY, secret, api_base=fake.url), session).lookup(phone)


@pytest.mark.parametrize("network_type, line_type", [
    ("mobile", "mobile"), ("landline", "landline"), ("landline_premium", "premium"),
    ("landline_tollfree", "toll_free"), ("virtual", "voip"), ("pager", "pager"), ("unknown", "unknown"),
    ("satellite", "unknown"),  # a type Vonage may add later
])
async def test_number_insight_network_types(fake_vonage, network_type, line_type):
    fake_vonage.line_types[PAT] = network_type
    answer = await _look_up(fake_vonage)
    assert (answer.line_type, answer.carrier_name) == (line_type, "T-Mobile USA")
    assert fake_vonage.lookups == [PAT.lstrip("+")]  # digits, as Number Insight takes them


@pytest.mark.parametrize("kind, secret, error", [
    ("invalid", API_SECRET, NotANumber),  # status 3
    ("throttled", API_SECRET, LookupFailed),  # any other status than 0
    ("error", API_SECRET, LookupFailed),  # HTTP 5xx
    ("html", API_SECRET, LookupFailed),  # not JSON
    ("mobile", "wrong-secret", LookupFailed),  # 401
])
async def test_number_insight_failures(fake_vonage, kind, secret, error):
    fake_vonage.line_types[PAT] = kind
    with pytest.raises(error):
        await _look_up(fake_vonage, secret=secret)


async def test_number_insight_is_asked_with_basic_auth_not_secrets_in_the_url(aiohttp_server):
    seen = []

    async def insight(request):
        seen.append((request.headers.get("Authorization", ""), dict(request.query)))
        return aiohttp.web.json_response({"status": 0, "current_carrier": {"network_type": "mobile"}})

    app = aiohttp.web.Application()
    app.router.add_get("/ni/standard/json", insight)
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as session:
        lookup = VonageLookup(Settings(API_KEY, API_SECRET, api_base=str(server.make_url("")).rstrip("/")), session)
        assert await lookup.lookup(PAT) == await lookup.lookup(PAT)
    authorization, query = seen[0]
    assert authorization.startswith("Basic ") and query == {"number": PAT.lstrip("+")}


@pytest.mark.parametrize("network_type, outcome", [
    ("mobile", "mobile"), ("virtual", "voip"), ("landline", "landline"), ("landline_tollfree", "toll_free"),
])
async def test_vonage_as_the_line_type_lookup_of_a_gateway(start_vonage, fake_vonage, db, network_type, outcome):
    gateway = await start_vonage(lookup={"name": "vonage"})
    fake_vonage.line_types[PAT] = network_type
    if outcome in ("landline", "toll_free"):  # cannot take texts: refused
        with pytest.raises(InvalidInput) as refused:
            await numbers.check(gateway.line_types, PAT, field="phone", policy=US_CA)
        assert refused.value.code == outcome
    else:
        assert (await numbers.check(gateway.line_types, PAT, field="phone", policy=US_CA)).line_type == outcome
    assert fake_vonage.lookups == [PAT.lstrip("+")]
    if outcome in ("mobile", "voip"):
        assert await db.fetchval("SELECT source FROM line_types WHERE phone = $1", PAT) == "vonage"


async def test_vonage_number_insight_says_no_such_number(start_vonage, fake_vonage):
    gateway = await start_vonage(lookup={"name": "vonage"})
    fake_vonage.line_types[PAT] = "invalid"
    with pytest.raises(InvalidInput, match="no such number"):
        await numbers.check(gateway.line_types, PAT, field="phone", policy=US_CA)

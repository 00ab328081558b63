"""The plivo carrier: payloads from Plivo's docs parsed (form and JSON), the V3 signature against Plivo's own SDK
(the `plivo` package, a dev dependency only), webhooks through a gateway, sends against a local Plivo, its lookup."""

import json
import secrets
from pathlib import Path
from urllib.parse import parse_qs

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict
from plivo.utils import validate_v3_signature

from gateway.carriers import InboundMessage, LookupFailed, NotANumber, RawRequest, StatusUpdate
from gateway.carriers.plivo import PlivoCarrier, PlivoLookup, Settings, check, check_lookup, signature, verify_params
from gateway.config import ConfigError
from gateway.errors import Malformed, UnsupportedMedia
from gateway.vocabulary import FailureClass
from tests.fakes import unwrap
from tests.fakes_plivo import AUTH_ID, AUTH_TOKEN, Reply, encode, sign
from tests.helpers import ALEX, PAT, PROXY, wait_for

PAYLOADS = Path(__file__).parent / "payloads" / "plivo"
UUID = "db3ce55a-7f1d-11ef-8e5d-0242ac110003"
SETTINGS = Settings(auth_id=AUTH_ID, auth_token=AUTH_TOKEN)


def raw(name: str, url: str = "https://gw.example.com/webhooks/plivo/sms", headers=None) -> RawRequest:
    body = (PAYLOADS / name).read_bytes().strip()
    content_type = "application/json" if name.endswith(".json") else "application/x-www-form-urlencoded"
    return RawRequest("POST", url, CIMultiDict(headers or {}), body, content_type, None)


def params_of(name: str) -> dict:
    text = (PAYLOADS / name).read_text().strip()
    return json.loads(text) if name.endswith(".json") else parse_qs(text, keep_blank_values=True)


@pytest.fixture
def carrier(make_carrier):
    return make_carrier()


@pytest.fixture
def make_carrier():
    from gateway.config import from_dict

    def make(**plivo):
        config = from_dict({"carrier": {"name": "sandbox"}, "plivo": {"auth_id": AUTH_ID, "auth_token": AUTH_TOKEN,
                                                                      **plivo}})
        return PlivoCarrier(config.per_carrier["plivo"], config)

    return make


INBOUND = InboundMessage("2a9b1f4e-6c3d-11ef-8f2a-0242ac110002", PAT, PROXY, "Is the pool heated?")
MEDIA = "https://media.plivo.com/Account/MAXXXXXXXXXXXXXXXXXX/Message/7d1e3f20-6c3d-11ef-b4c5-0242ac110002/Media/"


@pytest.mark.parametrize("name, expected", [
    ("inbound_sms.txt", INBOUND),
    ("inbound_sms.json", INBOUND),
    ("inbound_unicode.txt", InboundMessage("5b0c2d1e-6c3d-11ef-9a1b-0242ac110002", "+525512345678", PROXY,
                                           "¿Hay piscina? 🏊 €20")),
    ("inbound_mms.txt", InboundMessage("7d1e3f20-6c3d-11ef-b4c5-0242ac110002", PAT, PROXY, "Here is the lease",
                                       (MEDIA + "a1", MEDIA + "a2"))),
])
def test_parse_inbound(carrier, name, expected):
    assert carrier.parse_inbound(raw(name)) == [expected]


@pytest.mark.parametrize("name, expected", [
    ("status_queued.txt", StatusUpdate(UUID, "accepted", None)),
    ("status_sent.txt", StatusUpdate(UUID, "sent", None)),
    ("status_delivered.txt", StatusUpdate(UUID, "delivered", None)),
    ("status_delivered.json", StatusUpdate(UUID, "delivered", None)),
    ("status_undelivered.txt", StatusUpdate(UUID, "undelivered", "80")),
    ("status_undelivered.json", StatusUpdate(UUID, "undelivered", "80")),  # JSON numbers read as text
    ("status_failed.txt", StatusUpdate(UUID, "failed", "200")),
    ("status_rejected.txt", StatusUpdate(UUID, "failed", "50")),
    ("status_received.txt", None),  # an inbound message's own status: nothing for us to apply
])
def test_parse_status(carrier, name, expected):
    assert carrier.parse_status(raw(name)) == ([] if expected is None else [expected])


@pytest.mark.parametrize("code, failure_class, permanent", [
    ("200", FailureClass.OPTED_OUT, True), ("30", FailureClass.FILTERED, False),
    ("50", FailureClass.INVALID_NUMBER, False), ("70", FailureClass.UNREACHABLE, False),
    ("80", FailureClass.UNREACHABLE, False), ("1000", FailureClass.OTHER, True), ("http_400", FailureClass.OTHER, True),
])
def test_error_codes_map_onto_failure_classes(carrier, code, failure_class, permanent):
    failure = carrier.failure(code)
    assert (failure.failure_class, failure.permanent) == (failure_class, permanent)


@pytest.mark.parametrize("body, content_type, error", [
    (b"From=1&To=2&MessageUUID=", "application/x-www-form-urlencoded", "MessageUUID: must not be empty"),
    (b"From=1&To=2", "application/x-www-form-urlencoded", "MessageUUID: required"),
    (b"From=1&To=2&MessageUUID=a%00", "application/x-www-form-urlencoded", "NUL"),
    (b"From=1&To=2&MessageUUID=a&MediaCount=11", "application/x-www-form-urlencoded", "MediaCount"),
    (b"From=1&To=2&MessageUUID=a&Text=" + b"x" * 1601, "application/x-www-form-urlencoded", "longer than"),
    (b'{"From": "1", "To": "2", "MessageUUID": ["a", 1]}', "application/json", "expected text"),
    (b'{"From": "1", "To": {"x": 1}, "MessageUUID": "a"}', "application/json", "To: expected text"),
    (b"[1, 2]", "application/json", "JSON object"),
    (b"{nope", "application/json", "readable JSON"),
])
def test_parse_inbound_refuses_malformed(carrier, body, content_type, error):
    request = RawRequest("POST", "https://gw.example.com/webhooks/plivo/sms", CIMultiDict(), body, content_type)
    with pytest.raises(Malformed, match=error):
        carrier.parse_inbound(request)


def test_a_nul_in_the_text_is_dropped(carrier):
    request = RawRequest("POST", "https://x/y", CIMultiDict(), b"From=1&To=2&MessageUUID=a&Text=a%00b",
                         "application/x-www-form-urlencoded")
    assert carrier.parse_inbound(request)[0].body == "ab"


def test_a_multipart_body_is_refused_with_415(carrier):
    request = RawRequest("POST", "https://x/y", CIMultiDict(), b"--x--", "multipart/form-data")
    with pytest.raises(UnsupportedMedia):
        carrier.verify(request)


# --- The V3 signature, against Plivo's own validator ----------------------------------------------------------

HOSTS = ["https://gw.example.com", "https://gw.example.com:8443", "http://127.0.0.1:8080",
         "https://gw.example.com/prefix"]
PATHS = ["/webhooks/plivo/sms", "/webhooks/plivo/status?message_id=12", "/webhooks/plivo/status?b=2&a=1&a=0&c=",
         "/webhooks/plivo/sms?"]
VALUES = st.text(st.characters(blacklist_categories=["Cs"]), max_size=8)
NAMES = st.sampled_from(["MessageUUID", "From", "To", "Text", "Status", "a", "B", "ErrorCode"])
FORMS = st.dictionaries(NAMES, st.lists(VALUES, min_size=1, max_size=2), max_size=6)
SCALARS = st.none() | st.booleans() | st.integers(-10**6, 10**6) | VALUES
JSONS = st.dictionaries(NAMES, SCALARS | st.lists(VALUES, max_size=3) | st.dictionaries(NAMES, SCALARS, max_size=3),
                        max_size=6)


@settings(max_examples=300, deadline=None)
@given(url=st.sampled_from(HOSTS), path=st.sampled_from(PATHS), params=FORMS | JSONS,
       nonce=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=24),
       token=st.sampled_from([AUTH_TOKEN, "other-token"]), theirs=st.booleans())
def test_verify_agrees_with_plivos_validate_v3_signature(url, path, params, nonce, token, theirs):
    """Ours accepts exactly what Plivo's SDK accepts, for forms (name -> values) and JSON objects alike."""
    full = url + path
    given_signature = signature(token, full, params, nonce)
    if theirs:  # the SDK's own signature, as it computes it to compare
        assert validate_v3_signature("POST", full, nonce, token, given_signature, dict(params))
    headers = {"X-Plivo-Signature-V3": given_signature, "X-Plivo-Signature-V3-Nonce": nonce}
    ours = verify_params(AUTH_TOKEN, full, params, headers)
    assert ours == validate_v3_signature("POST", full, nonce, AUTH_TOKEN, given_signature, dict(params))


@pytest.mark.parametrize("headers, expected", [
    ({"X-Plivo-Signature-V3": "{good}", "X-Plivo-Signature-V3-Nonce": "{nonce}"}, True),
    ({"X-Plivo-Signature-Ma-V3": "{good}", "X-Plivo-Signature-V3-Nonce": "{nonce}"}, True),  # the main account's
    ({"X-Plivo-Signature-V3": "bm9wZQ==,{good}", "X-Plivo-Signature-V3-Nonce": "{nonce}"}, True),  # several
    ({"X-Plivo-Signature-V3": "bm9wZQ==, {good}", "X-Plivo-Signature-V3-Nonce": "{nonce}"}, True),
    ({"X-Plivo-Signature-V3": "{good}"}, False),  # no nonce
    ({"X-Plivo-Signature-V3": "{good}", "X-Plivo-Signature-V3-Nonce": "other"}, False),
    ({"X-Plivo-Signature-V3-Nonce": "{nonce}"}, False),
    ({"X-Plivo-Signature-V3": "", "X-Plivo-Signature-V3-Nonce": "{nonce}"}, False),
    ({"X-Plivo-Signature-V3": "é" * 44, "X-Plivo-Signature-V3-Nonce": "{nonce}"}, False),
    ({"X-Plivo-Signature-V2": "{good}", "X-Plivo-Signature-V2-Nonce": "{nonce}"}, False),  # V2 signs no body
])
def test_signature_headers(headers, expected):
    url, params, nonce = "https://gw.example.com/webhooks/plivo/sms", {"Text": ["hi"]}, "1234567890"
    good = signature(AUTH_TOKEN, url, params, nonce)
    filled = {name: value.format(good=good, nonce=nonce) for name, value in headers.items()}
    assert verify_params(AUTH_TOKEN, url, params, filled) is expected


def test_params_no_signature_can_cover_are_refused_not_crashed_on():
    headers = {"X-Plivo-Signature-V3": "x", "X-Plivo-Signature-V3-Nonce": "1"}
    deep: dict = {}
    for _ in range(5000):
        deep = {"a": deep}
    assert not verify_params(AUTH_TOKEN, "https://x/y", {"l": [{"a": 1}, {"b": 2}]}, headers)
    assert not verify_params(AUTH_TOKEN, "https://x/y", deep, headers)


# --- Webhooks through a gateway ------------------------------------------------------------------------------

@pytest.fixture
async def plivo_gateway(start_gateway, fake_plivo):
    gateway = await start_gateway(carrier={"name": "plivo"}, plivo={
        "auth_id": AUTH_ID, "auth_token": AUTH_TOKEN, "api_base": fake_plivo.url, "lookup_base": fake_plivo.url})
    gateway.carrier = fake_plivo
    return gateway


async def post(gateway, path: str, params: dict, *, as_json: bool = False, headers: dict | None = None,
               url: str | None = None):
    """POST a webhook as Plivo does: signed over the public URL (or url) unless headers are given."""
    body, content_type = encode(params, as_json)
    signed = headers if headers is not None else sign(url or gateway.config.public_url + path, params)
    async with gateway.client.post(path, data=body, headers={**signed, "Content-Type": content_type}) as response:
        return response.status, await response.text()


def inbound(sender: str, to: str, text: str, message_uuid: str | None = None) -> dict:
    return {"From": sender.lstrip("+"), "To": to.lstrip("+"), "Type": "sms", "Text": text,
            "MessageUUID": message_uuid or str(secrets.token_hex(16)), "Units": "1", "TotalRate": "0.00000",
            "TotalAmount": "0.00000", "MessageIntent": "", "PowerpackUUID": ""}


async def _inbound_rows(gateway) -> int:
    return await gateway.pool.fetchval("SELECT count(*) FROM messages WHERE direction = 'inbound'")


@pytest.mark.parametrize("as_json", [False, True])
async def test_a_signed_inbound_is_stored_and_a_replay_stored_once(plivo_gateway, as_json):
    await plivo_gateway.community()
    params = inbound(PAT, PROXY, "hello")
    headers = sign(plivo_gateway.config.public_url + "/webhooks/plivo/sms", params)
    for _ in range(2):  # the same nonce and signature again: V3 has no timestamp, the MessageUUID makes it a no-op
        assert (await post(plivo_gateway, "/webhooks/plivo/sms", params, as_json=as_json, headers=headers))[0] == 200
    assert await _inbound_rows(plivo_gateway) == 1


@pytest.mark.parametrize("forgery", ["wrong_token", "tampered", "other_url", "no_signature", "other_nonce"])
async def test_a_forged_inbound_is_refused_with_403_and_nothing_stored(plivo_gateway, forgery):
    await plivo_gateway.community()
    params = inbound(PAT, PROXY, "hello")
    url = plivo_gateway.config.public_url + "/webhooks/plivo/sms"
    headers = {
        "wrong_token": sign(url, params, token="not-the-token"),
        "tampered": sign(url, {**params, "Text": "something else"}),
        "other_url": sign("https://evil.example.com/webhooks/plivo/sms", params),
        "no_signature": {},
        "other_nonce": {**sign(url, params), "X-Plivo-Signature-V3-Nonce": "12345"},
    }[forgery]
    status, text = await post(plivo_gateway, "/webhooks/plivo/sms", params, headers=headers)
    assert status == 403 and "bad_signature" in text
    assert await _inbound_rows(plivo_gateway) == 0


@pytest.mark.parametrize("body, content_type, expected", [
    (b"--x\r\n", "multipart/form-data; boundary=x", 415),
    (b"{nope", "application/json", 400),
    (b"\xff\xfe", "application/x-www-form-urlencoded", 400),
    (b"From=1", "text/plain", 415),
])
async def test_unreadable_bodies_get_a_4xx_before_the_signature(plivo_gateway, body, content_type, expected):
    async with plivo_gateway.client.post("/webhooks/plivo/sms", data=body,
                                         headers={"Content-Type": content_type}) as response:
        assert response.status == expected


async def test_a_status_for_a_message_we_did_not_send_is_ignored(plivo_gateway):
    params = {k: v[0] for k, v in params_of("status_delivered.txt").items()}
    status, _ = await post(plivo_gateway, "/webhooks/plivo/status", params)
    assert status == 200


# --- Sending ----------------------------------------------------------------------------------------------------

async def _notification(gateway):
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    return conversation["id"]


async def _final(gateway, conversation_id, statuses=("accepted", "failed")):
    async def check():
        [message] = await gateway.messages(conversation_id)
        return message if message["status"] in statuses else None

    return await wait_for(check, what="a final send result")


async def test_send_posts_plivos_json_with_basic_auth(plivo_gateway, fake_plivo):
    conversation_id = await _notification(plivo_gateway)
    message = await _final(plivo_gateway, conversation_id)
    [request] = fake_plivo.requests
    assert set(request) == {"src", "dst", "text", "url", "method"}
    assert (request["src"], request["dst"], request["method"]) == (PROXY, ALEX, "POST")
    assert request["url"] == f"{plivo_gateway.config.public_url}/webhooks/plivo/status?message_id={message['id']}"
    assert message["carrier_sid"] == fake_plivo.sent[0]["message_uuid"]


async def test_429_with_retry_after_is_retried_then_sent(plivo_gateway, fake_plivo):
    fake_plivo.then(Reply(429, "too many requests", retry_after="0"), Reply(503, "down"))
    message = await _final(plivo_gateway, await _notification(plivo_gateway))
    assert message["status"] == "accepted" and message["attempts"] == 3
    assert len(fake_plivo.requests) == 3 and len(fake_plivo.sent) == 1


@pytest.mark.parametrize("reply, code, text", [
    (Reply(400, "invalid dst number"), "http_400", "invalid dst number"),
    (Reply(404, "Resource not found"), "http_404", "Resource not found"),
])
async def test_a_4xx_fails_the_message_with_its_error(plivo_gateway, fake_plivo, reply, code, text):
    fake_plivo.then(reply)
    message = await _final(plivo_gateway, await _notification(plivo_gateway))
    assert (message["status"], message["error_code"], message["attempts"]) == ("failed", code, 1)
    assert text in message["error_message"] and len(fake_plivo.requests) == 1


async def test_a_message_that_keeps_failing_ends_failed_after_max_attempts(plivo_gateway, fake_plivo):
    fake_plivo.then(*[Reply(500, "boom")] * 5)
    message = await _final(plivo_gateway, await _notification(plivo_gateway))
    assert (message["status"], message["error_code"]) == ("failed", "max_attempts")


async def test_a_slow_plivo_times_out_and_is_retried(start_gateway, fake_plivo):
    gateway = await start_gateway(carrier={"name": "plivo", "send_timeout": 0.3}, plivo={
        "auth_id": AUTH_ID, "auth_token": AUTH_TOKEN, "api_base": fake_plivo.url})
    fake_plivo.then(Reply(delay=1.0))
    message = await _final(gateway, await _notification(gateway))
    assert message["status"] == "accepted" and message["attempts"] == 2


async def test_wrong_credentials_fail_the_message_visibly(start_gateway, fake_plivo):
    gateway = await start_gateway(carrier={"name": "plivo"}, plivo={
        "auth_id": AUTH_ID, "auth_token": "wrong", "api_base": fake_plivo.url})
    message = await _final(gateway, await _notification(gateway))
    assert (message["status"], message["error_code"]) == ("failed", "http_401")


# --- A whole relay, with plivo as the default carrier -------------------------------------------------------

async def test_full_relay_inbound_send_and_status_callbacks(plivo_gateway, fake_plivo):
    community = await plivo_gateway.community()
    conversation = await plivo_gateway.conversation(community["id"])
    await wait_for(lambda: _resolved(fake_plivo.bodies_to(ALEX)), what="the notification")
    # Alex answers; Plivo posts the inbound as a form, digits without "+"
    status, _ = await post(plivo_gateway, "/webhooks/plivo/sms", inbound(ALEX, PROXY, "Yes, utilities too."))
    assert status == 200
    await wait_for(lambda: _resolved(fake_plivo.bodies_to(PAT)), what="the relayed text")
    [relayed] = [m for m in fake_plivo.sent if m["dst"] == PAT]
    assert relayed["src"] == PROXY and unwrap(relayed["text"]) == "Yes, utilities too."  # Pat's first text
    # Plivo's callbacks for it, signed over the url the send gave (with its ?message_id=), one of them as JSON
    assert await fake_plivo.callback(relayed, "queued") == 200
    assert await fake_plivo.callback(relayed, "sent", as_json=True) == 200
    assert await fake_plivo.callback(relayed, "delivered") == 200

    async def delivered():
        messages = await plivo_gateway.messages(conversation["id"])
        return [m for m in messages if m["carrier_sid"] == relayed["message_uuid"] and m["status"] == "delivered"]

    await wait_for(delivered, what="the relayed text delivered")


async def test_an_opted_out_callback_puts_the_phone_on_permanent_dnd(plivo_gateway, fake_plivo, db):
    await _notification(plivo_gateway)
    await wait_for(lambda: _resolved(fake_plivo.sent), what="the notification")
    assert await fake_plivo.callback(fake_plivo.sent[0], "failed", "200") == 200

    async def dnd():
        return await db.fetchrow("SELECT dnd, dnd_reason FROM contacts WHERE phone = $1 AND dnd IS NOT NULL", ALEX)

    assert tuple(await wait_for(dnd, what="DND recorded")) == ("permanent", "200")


async def _resolved(value):
    return value


# --- Settings and the lookup ---------------------------------------------------------------------------------

@pytest.mark.parametrize("settings_, error", [
    (Settings(auth_token="t"), "PLIVO_AUTH_ID"),
    (Settings(auth_id="a"), "PLIVO_AUTH_TOKEN"),
    (Settings(auth_id="a", auth_token="t", api_base="ftp://x"), "PLIVO_API_BASE"),
])
def test_check_names_the_bad_setting(settings_, error):
    with pytest.raises(ConfigError, match=error):
        check(settings_, None)


@pytest.mark.parametrize("settings_, error", [
    (Settings(auth_token="t"), "PLIVO_AUTH_ID"),
    (Settings(auth_id="a", auth_token="t", lookup_base="x"), "PLIVO_LOOKUP_BASE"),
])
def test_check_lookup_names_the_bad_setting(settings_, error):
    with pytest.raises(ConfigError, match=error):
        check_lookup(settings_, None)


@pytest.mark.parametrize("kind, expected", [
    ("mobile", "mobile"), ("fixed", "landline"), ("voip", "voip"), ("toll-free", "toll_free"),
    ("unknown", "unknown"), ("pager?", "unknown"),
])
async def test_lookup_maps_carrier_type(fake_plivo, kind, expected):
    fake_plivo.line_types[ALEX] = kind
    async with aiohttp.ClientSession() as session:
        answer = await PlivoLookup(Settings(AUTH_ID, AUTH_TOKEN, lookup_base=fake_plivo.url), session).lookup(ALEX)
    assert (answer.line_type, answer.carrier_name) == (expected, "Fake Wireless")
    assert fake_plivo.lookups == [ALEX]


@pytest.mark.parametrize("kind, token, error", [
    ("invalid", AUTH_TOKEN, NotANumber), ("error", AUTH_TOKEN, LookupFailed), ("mobile", "wrong", LookupFailed),
])
async def test_lookup_failures(fake_plivo, kind, token, error):
    fake_plivo.line_types[ALEX] = kind
    async with aiohttp.ClientSession() as session:
        with pytest.raises(error):
            await PlivoLookup(Settings(AUTH_ID, token, lookup_base=fake_plivo.url), session).lookup(ALEX)


def test_the_gateway_does_not_import_the_plivo_package():
    """`plivo` (Plivo's SDK) is a test oracle only; the gateway's own code checks signatures."""
    import re

    sources = Path(__file__).parent.parent.joinpath("gateway").rglob("*.py")
    importing = [str(p) for p in sources if re.search(r"^\s*(import plivo|from plivo\b)", p.read_text(), re.M)]
    assert importing == []

"""The bandwidth carrier: its callbacks (JSON arrays of events, HTTP Basic credentials, one path for messages and
statuses alike) parsed from real-shaped payloads, and sending against a local server speaking its API."""

import json

import aiohttp
import pytest

from gateway.carriers import InboundMessage, LineAnswer, LookupFailed, NotANumber, RawRequest, StatusUpdate
from gateway.carriers.bandwidth import BandwidthCarrier, BandwidthLookup, Settings, check_lookup, line_answer
from gateway.compliance.preferences import dnd_for
from gateway.config import Config, ConfigError, from_dict
from gateway.errors import InvalidInput, Malformed, TooLarge, UnsupportedMedia
from gateway.verification import numbers
from gateway.verification.numbers import Policy
from gateway.vocabulary import Dnd
from tests.fakes_bandwidth import (CALLBACK_PASSWORD, CALLBACK_USERNAME, PASSWORD, PATH, USERNAME, FakeBandwidth,
                                   Reply, basic, callback_headers, inbound_event, payload, settings, status_event)
from tests.helpers import ALEX, PAT, PROXY, wait_for

OUT_ID = "1593110555875xo7watq5px6rbe5d"  # the message id of the status payloads


def carrier(**changes) -> BandwidthCarrier:
    return BandwidthCarrier(Settings(**{**settings("http://x"), **changes}), Config())


def raw(body: bytes, headers: dict | None = None, content_type: str = "application/json",
        charset: str | None = "utf-8") -> RawRequest:
    return RawRequest("POST", "https://gw.example.com" + PATH, callback_headers() if headers is None else headers, body,
                      content_type,
                      charset)


# --- Parsing the payloads ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("inbound_sms.json", [InboundMessage("14762070468292kw2fuqty55yp2b2", PAT, PROXY, "Is the pool heated?")]),
    # A group message: message.to lists every recipient; ours is the owner (and the event's "to").
    ("inbound_group_mms.json", [InboundMessage("1476207046829mms7kw2fuqty55yp", PAT, PROXY, "Here is the lease", (
        "https://messaging.bandwidth.com/api/v2/users/9900000/media/1476207046829mms7kw2fuqty55yp/0/lease.jpg",))]),
    # NUL dropped (Postgres cannot store it), the rest kept as sent.
    ("inbound_unicode.json", [InboundMessage("1476207046830uni2fuqty55yp2b3", "+525512345678", PROXY,
                                             "¿Hay piscina? 🏊 €20")]),
    ("mixed.json", [InboundMessage("1476207046831mixd2fuqty55yp2", PAT, PROXY, "Thanks, see you Monday")]),
    ("status_delivered.json", []),
    ("status_failed.json", []),
])
def test_parse_inbound(name, expected):
    assert carrier().parse_inbound(raw(payload(name))) == expected


@pytest.mark.parametrize("name, expected", [
    ("status_sending.json", [StatusUpdate(OUT_ID, "sending", None)]),
    ("status_delivered.json", [StatusUpdate(OUT_ID, "delivered", None)]),
    ("status_failed.json", [StatusUpdate(OUT_ID, "failed", "4720")]),
    ("status_failed_opted_out.json", [StatusUpdate("1593110555876optout5px6rbe5e", "failed", "4775")]),
    ("mixed.json", [StatusUpdate("1593110555877mixd5px6rbe5f", "delivered", None),
                    StatusUpdate("1593110555878mixf5px6rbe60", "failed", "4702")]),
    ("inbound_sms.json", []),  # an inbound message has no status of ours
])
def test_parse_status(name, expected):
    assert carrier().parse_status(raw(payload(name))) == expected


@pytest.mark.parametrize("event, expected", [
    ({**status_event("message-delivered", "m1", PROXY, ALEX),
      "message": {**status_event("message-delivered", "m1", PROXY, ALEX)["message"], "direction": "in"}}, []),
    (status_event("message-failed", "m1", PROXY, ALEX, error_code=None), [StatusUpdate("m1", "failed", None)]),
    (status_event("message-read", "m1", PROXY, ALEX), [StatusUpdate("m1", "read", None)]),
    ({**status_event("message-failed", "m1", PROXY, ALEX), "errorCode": "5600"}, [StatusUpdate("m1", "failed", "5600")]),
    ({**inbound_event(PAT, PROXY, "x"), "type": "suggestion-response"}, []),  # other event types: not ours
])
def test_status_events_of_other_kinds(event, expected):
    assert carrier().parse_status(raw(json.dumps([event]).encode())) == expected


def test_an_event_without_its_own_to_takes_the_owner_and_media_beyond_ten_are_left():
    event = inbound_event(PAT, PROXY, "pics", media=[f"https://m.example/{i}" for i in range(12)],
                          recipients=[PROXY, "+14155552699"])
    del event["to"]
    [sms] = carrier().parse_inbound(raw(json.dumps([event]).encode()))
    assert sms.to_number == PROXY and len(sms.media_urls) == 10


@pytest.mark.parametrize("body, content_type, error, reason", [
    (b"not json", "application/json", Malformed, "not readable JSON"),
    (b"\xff\xfe[]", "application/json", Malformed, "not readable JSON"),
    (b"3", "application/json", Malformed, "array of events"),
    (b'[{"type": "message-received"}]', "application/json", Malformed, "a type and a message"),
    (b"[" * 100000, "application/json", Malformed, "not readable JSON"),
    (json.dumps([{**inbound_event(PAT, PROXY, "x"), "message": {"from": PAT, "owner": PROXY}}]).encode(),
     "application/json", Malformed, "id: required"),
    (json.dumps([inbound_event(PAT, PROXY, "x" * 2049)]).encode(), "application/json", Malformed, "longer than"),
    (json.dumps([inbound_event(PAT, PROXY, "x", media="https://m.example/1")]).encode(), "application/json",
     Malformed, "media"),
    (json.dumps([inbound_event(PAT + "\x00", PROXY, "x")]).encode(), "application/json", Malformed, "NUL"),
    (json.dumps([status_event("message-failed", "m1", PROXY, ALEX, error_code=True)]).encode(),
     "application/json", Malformed, "errorCode"),
    (json.dumps([inbound_event(PAT, PROXY, "x")] * 1001).encode(), "application/json", TooLarge, "1000"),
    (b"type=message-received", "application/x-www-form-urlencoded", UnsupportedMedia, "JSON"),
])
def test_malformed_callbacks_are_refused(body, content_type, error, reason):
    bandwidth = carrier()
    with pytest.raises(error, match=reason):
        bandwidth.parse_inbound(raw(body, content_type=content_type))
        bandwidth.parse_status(raw(body, content_type=content_type))


@pytest.mark.parametrize("authorization, expected", [
    (basic(CALLBACK_USERNAME, CALLBACK_PASSWORD), True),
    ("basic " + basic(CALLBACK_USERNAME, CALLBACK_PASSWORD).split()[1], True),  # the scheme is case-insensitive
    (basic(CALLBACK_USERNAME, "wrong"), False),
    (basic("someone", CALLBACK_PASSWORD), False),
    (basic(CALLBACK_USERNAME, CALLBACK_PASSWORD + "x"), False),
    (None, False),
    ("", False),
    ("Bearer " + CALLBACK_PASSWORD, False),
    ("Basic !!not-base64!!", False),
    ("Basic " + "bm9jb2xvbg==", False),  # "nocolon"
    ("Basic \udce9", False),  # a byte aiohttp keeps as a surrogate escape
])
def test_callback_credentials(authorization, expected):
    headers = {} if authorization is None else {"Authorization": authorization}
    assert carrier().verify(raw(payload("inbound_sms.json"), headers)) is expected


def test_without_callback_credentials_configured_nothing_verifies():
    assert not carrier(callback_username="", callback_password="").verify(raw(payload("inbound_sms.json")))


@pytest.mark.parametrize("changes, missing", [
    ({"callback_password": ""}, "BANDWIDTH_CALLBACK_PASSWORD"),
    ({"application_id": ""}, "BANDWIDTH_APPLICATION_ID"),
    ({"client_id": "", "client_secret": ""}, "BANDWIDTH_CLIENT_ID"),  # no API credentials of either kind
    ({"client_secret": ""}, "BANDWIDTH_CLIENT_SECRET"),
    ({"client_id": "", "username": "u"}, "BANDWIDTH_PASSWORD"),  # a legacy API user needs its password
    ({"token_url": "nowhere"}, "BANDWIDTH_TOKEN_URL"),
])
def test_the_settings_a_bandwidth_carrier_needs(changes, missing):
    secrets = {"verification": {"secret": "x" * 16}, "hooks": {"secret": "y" * 16}}
    with pytest.raises(ConfigError, match=missing):
        from_dict({"carrier": {"name": "bandwidth"}, "bandwidth": {**settings("https://x"), **changes}, **secrets})
    for table in (settings("https://x"), settings("https://x", legacy=True)):
        config = from_dict({"carrier": {"name": "bandwidth"}, "bandwidth": table, **secrets})
        assert config.per_carrier["bandwidth"].callback_username == CALLBACK_USERNAME


@pytest.mark.parametrize("code, dnd", [
    ("4775", Dnd.PERMANENT), ("4482", Dnd.PERMANENT),  # opted out at the carrier; on Bandwidth's block list
    ("4720", Dnd.TEMPORARY), ("4721", Dnd.TEMPORARY), ("4700", Dnd.TEMPORARY), ("4701", Dnd.TEMPORARY),
    ("4702", Dnd.TEMPORARY),
    ("4303", None), ("4406", None),  # invalid numbers refused outright: as Twilio's 21211, not counted
    ("4470", None), ("4770", None), ("4785", None),  # filtered, rate limited: the sender's doing
    ("5600", None), ("9902", None), ("9999", None),  # service failures, receipt timed out: other
])
def test_error_codes_map_onto_the_dnd_rules(code, dnd):
    assert dnd_for(carrier().failure(code)) == dnd


# --- Through a gateway ----------------------------------------------------------------------------------------------

@pytest.fixture
async def fake_bandwidth(aiohttp_server) -> FakeBandwidth:
    fake = FakeBandwidth()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("")).rstrip("/")
    return fake


@pytest.fixture
def start_bandwidth(start_gateway, fake_bandwidth):
    """A gateway with bandwidth as its default carrier, sending to the fake."""
    async def start(**sections):
        gateway = await start_gateway(carrier={"name": "bandwidth", **sections.pop("carrier", {})},
                                      bandwidth={**settings(fake_bandwidth.url), **sections.pop("bandwidth", {})},
                                      **sections)
        gateway.carrier = fake_bandwidth
        return gateway

    return start


@pytest.fixture
async def gateway(start_bandwidth):
    return await start_bandwidth()


async def post(gateway, events: list | bytes, headers: dict | None = None) -> tuple[int, str]:
    """POST a callback as Bandwidth does: a JSON array of events with the application's credentials."""
    body = events if isinstance(events, bytes) else json.dumps(events).encode()
    async with gateway.client.post(PATH, data=body, headers=callback_headers() if headers is None else headers) \
            as response:
        return response.status, await response.text()


async def _notification(gateway) -> tuple[int, dict]:
    """A conversation whose notification to ALEX went out through the fake: (conversation id, the message)."""
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    message = await _final(gateway, conversation["id"])
    return conversation["id"], message


async def _final(gateway, conversation_id, statuses=("accepted", "failed")):
    async def check():
        [message] = await gateway.messages(conversation_id)
        return message if message["status"] in statuses else None

    return await wait_for(check, what="a final send result")


async def _count(db, sid: str) -> int:
    return await db.fetchval("SELECT count(*) FROM messages WHERE carrier_sid = $1", sid)


@pytest.mark.parametrize("headers, expected", [
    (callback_headers(), 200),
    (callback_headers(password="wrong"), 403),
    (callback_headers(username="someone"), 403),
    ({"Content-Type": "application/json"}, 403),
    ({"Authorization": "Bearer x", "Content-Type": "application/json"}, 403),
])
async def test_callbacks_verify_the_applications_credentials(gateway, db, headers, expected):
    await gateway.community()
    status, text = await post(gateway, payload("inbound_sms.json"), headers)
    assert status == expected, text
    assert await _count(db, "14762070468292kw2fuqty55yp2b2") == (1 if expected == 200 else 0)
    if expected == 403:
        assert json.loads(text)["error"]["code"] == "bad_signature"


async def test_a_callback_without_credentials_is_refused_before_its_body_is_read(gateway):
    status, text = await post(gateway, b"not json", {"Content-Type": "application/json"})
    assert status == 403, text
    status, text = await post(gateway, b"not json")
    assert (status, json.loads(text)["error"]["code"]) == (400, "invalid_body")


async def test_a_replayed_array_is_stored_once(gateway, db):
    await gateway.community()
    answers = [await post(gateway, payload("inbound_sms.json")) for _ in range(3)]
    assert [status for status, _ in answers] == [200, 200, 200]
    assert await _count(db, "14762070468292kw2fuqty55yp2b2") == 1


async def test_a_group_message_to_two_of_our_numbers_comes_as_two_events_each_stored(gateway, db):
    other = "+14155550101"
    await gateway.community(numbers=[PROXY, other])
    events = [inbound_event(PAT, PROXY, "hi all", "g1", recipients=[PROXY, other]),
              inbound_event(PAT, other, "hi all", "g2", recipients=[PROXY, other])]
    assert (await post(gateway, events))[0] == 200
    rows = await db.fetch("SELECT carrier_sid, to_number FROM messages WHERE direction = 'inbound' ORDER BY 1")
    assert [tuple(row) for row in rows] == [("g1", PROXY), ("g2", other)]


async def test_send_posts_bandwidths_json_with_basic_auth(gateway, fake_bandwidth):
    _, message = await _notification(gateway)
    [request] = fake_bandwidth.requests
    assert set(request) == {"applicationId", "to", "from", "text", "tag"}
    assert (request["to"], request["from"], request["tag"]) == ([ALEX], PROXY, f"message_id={message['id']}")
    assert message["carrier_sid"] == fake_bandwidth.sent[0]["id"]


@pytest.mark.parametrize("kind, error_code, status", [
    ("message-sending", None, "sending"),
    ("message-delivered", None, "delivered"),
    ("message-failed", 4720, "failed"),
])
async def test_every_status_event_is_applied(gateway, kind, error_code, status):
    conversation_id, message = await _notification(gateway)
    event = status_event(kind, message["carrier_sid"], PROXY, ALEX, error_code)
    assert (await post(gateway, [event]))[0] == 200
    applied = await _final(gateway, conversation_id, (status,))
    assert applied["error_code"] == (str(error_code) if error_code else None)


async def test_statuses_are_forward_only_and_a_repeat_changes_nothing(gateway):
    conversation_id, message = await _notification(gateway)
    sid = message["carrier_sid"]
    for kind in ("message-delivered", "message-delivered", "message-sending"):
        assert (await post(gateway, [status_event(kind, sid, PROXY, ALEX)]))[0] == 200
    final = await gateway.message(message["id"])
    assert final["status"] == "delivered"
    assert [h["status"] for h in final["history"]].count("delivered") == 1


async def test_opted_out_at_the_carrier_puts_the_phone_on_permanent_dnd(gateway, db):
    _, message = await _notification(gateway)
    event = status_event("message-failed", message["carrier_sid"], PROXY, ALEX, 4775)
    assert (await post(gateway, [event]))[0] == 200

    async def dnd():
        return await db.fetchrow("SELECT dnd, dnd_reason FROM contacts WHERE phone = $1 AND dnd IS NOT NULL", ALEX)

    assert tuple(await wait_for(dnd, what="DND recorded")) == ("permanent", "4775")


async def test_a_status_before_the_sends_answer_is_kept_and_applied(gateway, fake_bandwidth, db):
    fake_bandwidth.then(Reply(delay=0.5, id="17early00000000000000000000000"))
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await wait_for(lambda: db.fetchval("SELECT count(*) FROM messages WHERE status = 'submitting'"),
                   what="send in flight")
    event = status_event("message-delivered", "17early00000000000000000000000", PROXY, ALEX)
    assert (await post(gateway, [event]))[0] == 200
    message = await _final(gateway, conversation["id"], ("delivered",))
    assert message["carrier_sid"] == "17early00000000000000000000000"


async def test_a_mixed_array_stores_the_message_and_applies_the_statuses(gateway, fake_bandwidth, db):
    fake_bandwidth.then(Reply(id="1593110555877mixd5px6rbe5f"))  # the delivered event of mixed.json is for it
    _, sent = await _notification(gateway)
    status, text = await post(gateway, payload("mixed.json"))
    assert status == 200 and text == ""
    notification = await gateway.message(sent["id"])
    assert (notification["status"], notification["carrier_sid"]) == ("delivered", "1593110555877mixd5px6rbe5f")
    assert await gateway.delivered_to(ALEX, 2) == [fake_bandwidth.bodies_to(ALEX)[0], "Thanks, see you Monday"]
    # The failure is for a message not recorded here yet: kept for when its send's answer comes.
    assert await db.fetchval("SELECT count(*) FROM early_statuses") == 1


async def test_a_malformed_event_in_an_array_stores_nothing_of_it(gateway, db):
    await gateway.community()
    events = [inbound_event(PAT, PROXY, "first", "ok1"), {"type": "message-delivered", "message": {"from": PROXY}}]
    status, text = await post(gateway, events)
    assert (status, json.loads(text)["error"]["code"]) == (400, "missing_field")
    assert await _count(db, "ok1") == 0


@pytest.mark.parametrize("reply, code", [
    (Reply(400, "request-validation", "Your request could not be accepted"), "request-validation"),
    (Reply(403, "forbidden", "Access Denied"), "forbidden"),
])
async def test_a_refused_send_fails_the_message_with_bandwidths_error_type(gateway, fake_bandwidth, reply, code):
    fake_bandwidth.then(reply)
    _, message = await _notification(gateway)
    assert (message["status"], message["error_code"], message["attempts"]) == ("failed", code, 1)
    assert message["error_message"] == reply.description
    assert len(fake_bandwidth.requests) == 1  # a 4xx is not retried


LEGACY = {"client_id": "", "client_secret": "", "username": USERNAME, "password": PASSWORD}


@pytest.mark.parametrize("credentials", [{"client_secret": "wrong"}, {**LEGACY, "password": "wrong"}])
async def test_wrong_api_credentials_fail_the_message_visibly(start_bandwidth, credentials):
    gateway = await start_bandwidth(bandwidth=credentials)
    _, message = await _notification(gateway)
    assert (message["status"], message["error_code"], message["attempts"]) == ("failed", "unauthorized", 1)


async def test_a_legacy_api_user_sends_with_basic_auth(start_bandwidth, fake_bandwidth):
    gateway = await start_bandwidth(bandwidth=LEGACY)
    _, message = await _notification(gateway)
    assert message["status"] == "accepted" and fake_bandwidth.token_requests == 0


async def test_one_oauth2_token_serves_every_send_until_bandwidth_refuses_it(gateway, fake_bandwidth):
    community = await gateway.community()
    first = await gateway.conversation(community["id"])
    await _final(gateway, first["id"])
    second = await gateway.conversation(community["id"], prospect=("+14155552673", "Sam"))
    await _final(gateway, second["id"])
    assert fake_bandwidth.token_requests == 1 and len(fake_bandwidth.sent) == 2
    fake_bandwidth.revoke()  # revoked before it expired: the send is refused, tried again with a new token
    third = await gateway.conversation(community["id"], prospect=("+14155552674", "Jo"))
    message = await _final(gateway, third["id"])
    assert (message["status"], message["attempts"]) == ("accepted", 2)
    assert fake_bandwidth.token_requests == 2


async def test_a_token_endpoint_that_is_down_is_retried(gateway, fake_bandwidth):
    fake_bandwidth.token_status = 503
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await wait_for(lambda: _after(fake_bandwidth, 1), what="a token request")
    refused = fake_bandwidth.token_requests  # the retry may come before the endpoint is back: each one refused
    fake_bandwidth.token_status = 200
    message = await _final(gateway, conversation["id"])
    assert message["status"] == "accepted" and fake_bandwidth.requests
    assert message["attempts"] == fake_bandwidth.token_requests == refused + 1  # one try per token asked for


async def _after(fake: FakeBandwidth, requests: int) -> bool:
    return fake.token_requests >= requests


async def test_429_with_retry_after_is_retried_then_sent(gateway, fake_bandwidth):
    fake_bandwidth.then(Reply(429, "max-message-queue-size-exceeded", "The SMS queue for your account is full",
                              retry_after="0"), Reply(503, "", "down"))
    _, message = await _notification(gateway)
    assert (message["status"], message["attempts"]) == ("accepted", 3)
    assert len(fake_bandwidth.requests) == 3 and len(fake_bandwidth.sent) == 1


async def test_a_send_that_keeps_failing_ends_failed_after_max_attempts(gateway, fake_bandwidth):
    fake_bandwidth.then(*[Reply(500, "internal-error", "boom")] * 5)
    _, message = await _notification(gateway)
    assert (message["status"], message["error_code"]) == ("failed", "max_attempts")
    assert message["attempts"] == gateway.config.carrier.max_attempts == len(fake_bandwidth.requests)


async def test_a_slow_carrier_times_out_and_is_retried(start_bandwidth, fake_bandwidth):
    gateway = await start_bandwidth(carrier={"send_timeout": 0.3})
    fake_bandwidth.then(Reply(delay=1.0))
    _, message = await _notification(gateway)
    assert (message["status"], message["attempts"]) == ("accepted", 2)


async def test_a_conversation_is_relayed_through_bandwidth(gateway, fake_bandwidth):
    """The full relay with bandwidth as the default carrier: the notification, the advocate's reply posted as
    Bandwidth posts it, the relayed copy sent through Bandwidth, and its delivery receipt."""
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    [notification] = await gateway.delivered_to(ALEX)
    assert notification.startswith("Pat via Acme Housing: Is housing included?")

    assert (await post(gateway, [inbound_event(ALEX, PROXY, "Yes, utilities too.")]))[0] == 200
    assert await gateway.delivered_to(PAT) == ["Yes, utilities too."]
    assert {m["from"] for m in fake_bandwidth.sent} == {PROXY}

    receipts = [status_event("message-delivered", m["id"], PROXY, m["to"][0]) for m in fake_bandwidth.sent]
    assert (await post(gateway, receipts))[0] == 200

    async def all_delivered():
        messages = await gateway.messages(conversation["id"])
        outbound = [m["status"] for m in messages if m["direction"] == "outbound"]
        return messages if outbound == ["delivered", "delivered"] else None

    messages = await wait_for(all_delivered, what="both sends delivered")
    assert [(m["direction"], m["kind"]) for m in messages] == [
        ("outbound", "notification"), ("inbound", "inbound"), ("outbound", "relay")]


# --- The Phone Number Lookup (v2, synchronous) as the line-type lookup --------------------------------------------

US_CA = Policy("US", ("US", "CA"))


@pytest.mark.parametrize("changes, missing", [
    ({"account_id": ""}, "BANDWIDTH_ACCOUNT_ID"),
    ({"client_secret": ""}, "BANDWIDTH_CLIENT_SECRET"),
    ({"client_id": "", "client_secret": "", "username": USERNAME, "password": ""}, "BANDWIDTH_PASSWORD"),
    ({"client_id": "", "client_secret": ""}, "BANDWIDTH_CLIENT_ID"),  # no credentials at all: the current kind
    ({"lookup_base": "ftp://x"}, "BANDWIDTH_LOOKUP_BASE"),
])
def test_check_lookup_names_the_missing_setting(changes, missing):
    with pytest.raises(ConfigError, match=missing):
        check_lookup(Settings(**{**settings("http://x"), **changes}), Config())


def test_check_lookup_needs_no_application_or_callback_credentials():
    check_lookup(Settings(**{**settings("http://x"), "application_id": "", "callback_username": "",
                             "callback_password": ""}), Config())


def _payload(results=(), errors=(), status="COMPLETE") -> dict:
    return {"links": [], "data": {"requestId": "r-1", "status": status, "results": list(results)},
            "errors": list(errors)}


NO_MATCH = {"code": "NO-MATCH", "type": "NumberInventory", "description": "not found",
            "meta": {"phoneNumbers": [PAT], "message": "Invalid TNs", "code": 1001}}


@pytest.mark.parametrize("payload, expected", [
    (_payload([{"phoneNumber": PAT, "lineType": "MOBILE", "messagingProvider": "Verizon Wireless"}]),
     LineAnswer("mobile", "Verizon Wireless")),
    (_payload([{"phoneNumber": PAT, "lineType": "FIXED", "voiceProvider": "VERIZON"}]),
     LineAnswer("landline", "VERIZON")),
    (_payload([{"phoneNumber": PAT, "lineType": "VOIP"}]), LineAnswer("voip", None)),
    (_payload([{"phoneNumber": PAT, "lineType": "VOIP-FIXED"}]), LineAnswer("voip", None)),
    (_payload([{"phoneNumber": PAT, "lineType": "SATELLITE"}]), LineAnswer("unknown", None)),  # added later
    (_payload([{"phoneNumber": PAT}]), LineAnswer("unknown", None)),  # a number with no line type known
    # Our number answered beside another's error (an RCS check, another number not found): its answer stands.
    (_payload([{"phoneNumber": PAT, "lineType": "MOBILE"}], [{**NO_MATCH, "meta": {"phoneNumbers": [ALEX]}}],
              "PARTIAL_COMPLETE"), LineAnswer("mobile", None)),
])
def test_lookup_answers(payload, expected):
    assert line_answer(payload, PAT) == expected


@pytest.mark.parametrize("payload, error", [
    (_payload([], [NO_MATCH], "FAILED"), NotANumber),
    (_payload([], [{**NO_MATCH, "meta": {}}], "FAILED"), NotANumber),  # NO-MATCH naming no number: the only one
    (_payload([], [{**NO_MATCH, "meta": {"phoneNumbers": [ALEX]}}], "FAILED"), LookupFailed),  # another number's
    (_payload([], [{"code": "RCS_SERVICE_UNAVAILABLE", "type": "Rcs", "description": "x"}], "FAILED"), LookupFailed),
    (_payload([{"phoneNumber": ALEX, "lineType": "MOBILE"}]), LookupFailed),  # no result for our number
    (_payload(), LookupFailed),
    ({"links": [], "data": {}, "errors": []}, LookupFailed),
    ({"data": "odd"}, LookupFailed),
    ({}, LookupFailed),
])
def test_lookup_failures_in_the_answer(payload, error):
    with pytest.raises(error):
        line_answer(payload, PAT)


async def _look_up(fake: FakeBandwidth, phone: str = PAT, **changes) -> LineAnswer:
    async with aiohttp.ClientSession() as session:
        lookup = BandwidthLookup(Settings(**{**settings(fake.url), **changes}), Config(), session)
        return await lookup.lookup(phone)


@pytest.mark.parametrize("line_type, expected", [
    ("MOBILE", "mobile"), ("FIXED", "landline"), ("VOIP", "voip"), ("VOIP-FIXED", "voip"),
])
async def test_the_lookup_against_the_fake_with_a_token(fake_bandwidth, line_type, expected):
    fake_bandwidth.line_types[PAT] = line_type
    assert await _look_up(fake_bandwidth) == LineAnswer(expected, "T-Mobile USA")
    assert (fake_bandwidth.lookups, fake_bandwidth.token_requests) == ([PAT], 1)


async def test_the_lookup_with_a_legacy_api_user(fake_bandwidth):
    answer = await _look_up(fake_bandwidth, client_id="", client_secret="", username=USERNAME, password=PASSWORD)
    assert answer.line_type == "mobile" and fake_bandwidth.token_requests == 0


@pytest.mark.parametrize("kind, changes, error", [
    ("invalid", {}, NotANumber),  # FAILED, NO-MATCH naming the number
    ("none", {}, LookupFailed),  # COMPLETE without a result for it
    ("error", {}, LookupFailed),  # HTTP 5xx
    ("html", {}, LookupFailed),  # not JSON
    ("MOBILE", {"client_secret": "wrong"}, LookupFailed),  # the token endpoint refuses the credentials
    ("MOBILE", {"client_id": "", "client_secret": "", "username": USERNAME, "password": "wrong"}, LookupFailed),
    ("MOBILE", {"account_id": "1111111"}, LookupFailed),  # 401 for another account
])
async def test_lookup_failures_against_the_fake(fake_bandwidth, kind, changes, error):
    fake_bandwidth.line_types[PAT] = kind
    with pytest.raises(error):
        await _look_up(fake_bandwidth, **changes)


async def test_a_revoked_token_fails_one_lookup_and_the_next_fetches_another(fake_bandwidth):
    async with aiohttp.ClientSession() as session:
        lookup = BandwidthLookup(Settings(**settings(fake_bandwidth.url)), Config(), session)
        assert (await lookup.lookup(PAT)).line_type == "mobile"
        fake_bandwidth.revoke()
        with pytest.raises(LookupFailed):
            await lookup.lookup(PAT)
        assert (await lookup.lookup(PAT)).line_type == "mobile"
    assert fake_bandwidth.token_requests == 2


@pytest.mark.parametrize("line_type, outcome", [("MOBILE", "mobile"), ("VOIP", "voip"), ("FIXED", "landline")])
async def test_bandwidth_as_the_line_type_lookup_of_a_gateway(start_bandwidth, fake_bandwidth, db, line_type, outcome):
    gateway = await start_bandwidth(lookup={"name": "bandwidth"})
    fake_bandwidth.line_types[PAT] = line_type
    if outcome == "landline":  # cannot take texts: refused
        with pytest.raises(InvalidInput) as refused:
            await numbers.check(gateway.line_types, PAT, field="phone", policy=US_CA)
        assert refused.value.code == "landline"
    else:
        assert (await numbers.check(gateway.line_types, PAT, field="phone", policy=US_CA)).line_type == outcome
        assert await db.fetchval("SELECT source FROM line_types WHERE phone = $1", PAT) == "bandwidth"
    assert fake_bandwidth.lookups == [PAT]


async def test_bandwidth_lookup_says_no_such_number(start_bandwidth, fake_bandwidth):
    gateway = await start_bandwidth(lookup={"name": "bandwidth"})
    fake_bandwidth.line_types[PAT] = "invalid"
    with pytest.raises(InvalidInput, match="no such number"):
        await numbers.check(gateway.line_types, PAT, field="phone", policy=US_CA)


async def test_a_text_to_a_whatsapp_participant_on_a_bandwidth_number_fails_not_offered(start_bandwidth, fake_bandwidth):
    """Bandwidth offers no WhatsApp: the template to a WhatsApp participant whose window is closed fails
    whatsapp_not_offered, and nothing goes to them."""
    from tests.test_whatsapp import TEMPLATE
    gateway = await start_bandwidth()
    community = await gateway.community()
    await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/template", TEMPLATE)
    await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/contacts/{PAT}",
                       {"channel": "whatsapp", "opted_in": True})
    conversation = await gateway.conversation(community["id"], prospect=(ALEX, "Alex"), advocate=(PAT, "Pat"))

    async def failed():
        return [m for m in await gateway.messages(conversation["id"]) if m["to"] == PAT and m["status"] == "failed"]
    [template] = await wait_for(failed, what="the template to the WhatsApp participant failed")
    assert (template["kind"], template["error_code"]) == ("whatsapp_template", "whatsapp_not_offered")
    assert [m for m in fake_bandwidth.sent if m["to"] == [PAT]] == []

"""The SMPP-link carriers, jasmin and kannel: their MO and DLR calls parsed from real-shaped samples, the shared
secret in their URLs, numbers without "+", and sending against local servers speaking their HTTP APIs."""

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from gateway.carriers import InboundMessage, RawRequest, StatusUpdate, _smpp, jasmin, kannel
from gateway.config import Config, ConfigError
from gateway.errors import Malformed, TooLarge, UnsupportedMedia
from gateway.vocabulary import FailureClass
from tests.fakes_smpp import (PASSWORD, SECRET, USERNAME, FakeJasmin, FakeKannel, Reply, jasmin_dlr, jasmin_mo,
                              kannel_dlr_path, kannel_mo_path, with_secret)
from tests.helpers import ALEX, PAT, PROXY, wait_for

PAYLOADS = Path(__file__).parent / "payloads"
PUBLIC = "http://127.0.0.1:8080"
FORM = "application/x-www-form-urlencoded"
JASMIN = jasmin.create(jasmin.Settings(username=USERNAME, password=PASSWORD, webhook_secret=SECRET), Config())
KANNEL = kannel.create(kannel.Settings(username=USERNAME, password=PASSWORD, webhook_secret=SECRET), Config())


def sample(carrier: str, name: str) -> str:
    return (PAYLOADS / carrier / name).read_text().strip()


def jasmin_post(path: str, body: str | bytes, content_type: str = FORM) -> RawRequest:
    data = body.encode() if isinstance(body, str) else body
    return RawRequest("POST", PUBLIC + path, {}, data, content_type)


def kannel_get(path: str) -> RawRequest:
    return RawRequest("GET", PUBLIC + path, {}, b"")


# --- Jasmin's calls ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("mo_sms.txt", InboundMessage("16fd2706-8baf-433b-82eb-8c7fada847da", "+14155552671", "+14155550100",
                                  "Is the pool heated?")),
    ("mo_ucs2.txt", InboundMessage("5b2c7ad1-7f5e-4a4f-9a44-0f6f3a1b2c3d", "+525512345678", "+14155550100",
                                   "¿Hay piscina? 🏊 €20")),
    ("mo_latin1.txt", InboundMessage("a1b2c3d4-0000-4000-8000-000000000001", "+33612345678", "+14155550100",
                                     "Café ouvert?")),
    ("mo_shortcode.txt", InboundMessage("a1b2c3d4-0000-4000-8000-000000000002", "Jasmin", "12345", "hello")),
])
def test_jasmin_mo_is_parsed(name, expected):
    request = jasmin_post(with_secret("/webhooks/jasmin/mo"), sample("jasmin", name))
    assert JASMIN.verify(request)
    assert JASMIN.parse_inbound(request) == [expected]


SID = "07033084-5cfd-4812-90a4-e4d24ffb6e3d"


@pytest.mark.parametrize("name, expected", [
    ("dlr_level1_esme_rok.txt", StatusUpdate(SID, "sent", None)),
    ("dlr_level1_esme_rinvdstadr.txt", StatusUpdate(SID, "failed", "ESME_RINVDSTADR")),
    ("dlr_level1_esme_rthrottled.txt", StatusUpdate(SID, "failed", "ESME_RTHROTTLED")),
    ("dlr_acceptd.txt", StatusUpdate(SID, "sent", None)),
    ("dlr_delivrd.txt", StatusUpdate(SID, "delivered", None)),
    ("dlr_expired.txt", StatusUpdate(SID, "undelivered", "EXPIRED")),
    ("dlr_deleted.txt", StatusUpdate(SID, "undelivered", "DELETED")),
    ("dlr_undeliv.txt", StatusUpdate(SID, "undelivered", "UNDELIV")),
    ("dlr_rejectd.txt", StatusUpdate(SID, "failed", "REJECTD")),
    ("dlr_unknown.txt", None),  # says nothing: nothing to apply
])
def test_jasmin_dlr_is_parsed(name, expected):
    request = jasmin_post(with_secret("/webhooks/jasmin/dlr?message_id=42"), sample("jasmin", name))
    assert JASMIN.verify(request)
    assert JASMIN.parse_status(request) == ([] if expected is None else [expected])


def test_jasmin_mo_by_get_is_read_from_the_query():
    request = kannel_get(with_secret("/webhooks/jasmin/mo?" + sample("jasmin", "mo_sms.txt")))
    assert JASMIN.verify(request) and JASMIN.parse_inbound(request)[0].body == "Is the pool heated?"


@pytest.mark.parametrize("body, error, reason", [
    ("from=1&to=2&content=x", Malformed, "id: required"),
    ("id=&from=1&to=2&content=x", Malformed, "id: must not be empty"),
    ("id=1&from=1&to=2&content=x&binary=zz", Malformed, "binary: expected hex"),
    ("id=1%00&from=1&to=2&content=x", Malformed, "NUL"),
    ("id=1&from=1&to=2&coding=8&binary=00", Malformed, "(?i)utf-16"),
    ("id=1&from=1&to=2&content=" + "x" * 1601, Malformed, "longer than"),
])
def test_jasmin_mo_refuses_malformed(body, error, reason):
    with pytest.raises(error, match=reason):
        JASMIN.parse_inbound(jasmin_post(with_secret("/webhooks/jasmin/mo"), body))


def test_jasmin_mo_drops_nul_characters_in_the_body():
    body = jasmin_mo("m1", "14155552671", PROXY, "a\x00b")
    assert JASMIN.parse_inbound(jasmin_post(with_secret("/webhooks/jasmin/mo"), body))[0].body == "ab"


@pytest.mark.parametrize("body, content_type, error", [
    (b"--x\r\n", "multipart/form-data", UnsupportedMedia),
    (b'{"id": 1}', "application/json", UnsupportedMedia),
    ("id=é".encode(), FORM, Malformed),
    (b"&" * 1000, FORM, TooLarge),
])
def test_jasmin_refuses_bodies_it_never_sends_before_the_secret(body, content_type, error):
    with pytest.raises(error):
        JASMIN.verify(jasmin_post("/webhooks/jasmin/mo", body, content_type))


# --- Kannel's calls ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("mo_sms.txt", InboundMessage("cb2d5e8c-3f2a-4b1e-9d6f-7a8b9c0d1e2f", "+14155552671", "+14155550100",
                                  "Is the pool heated?")),
    ("mo_ucs2.txt", InboundMessage("d7e8f9a0-1b2c-4d3e-8f4a-5b6c7d8e9f01", "+525512345678", "+14155550100",
                                   "¿Hay piscina? 🏊 €20")),
    ("mo_recoded.txt", InboundMessage("e1f2a3b4-5c6d-4e7f-8a9b-0c1d2e3f4a5b", "+33612345678", "+14155550100",
                                      "Café ouvert?")),
])
def test_kannel_mo_is_parsed(name, expected):
    request = kannel_get(with_secret("/webhooks/kannel/mo?" + sample("kannel", name)))
    assert KANNEL.verify(request)
    assert KANNEL.parse_inbound(request) == [expected]


KSID = "9f1c2b3a4d5e6f708192a3b4c5d6e7f8"


@pytest.mark.parametrize("name, expected", [
    ("dlr_1_delivered.txt", StatusUpdate(KSID, "delivered", None)),
    ("dlr_2_undeliv.txt", StatusUpdate(KSID, "undelivered", "UNDELIV")),
    ("dlr_2_expired.txt", StatusUpdate(KSID, "undelivered", "EXPIRED")),
    ("dlr_2_no_answer.txt", StatusUpdate(KSID, "undelivered", "dlr_failed")),
    ("dlr_4_buffered.txt", StatusUpdate(KSID, "sent", None)),
    ("dlr_8_submitted.txt", StatusUpdate(KSID, "sent", None)),
    ("dlr_16_rejected.txt", StatusUpdate(KSID, "failed", "ESME_RINVDSTADR")),
    ("dlr_16_throttled.txt", StatusUpdate(KSID, "failed", "ESME_RTHROTTLED")),
])
def test_kannel_dlr_is_parsed(name, expected):
    request = kannel_get(with_secret("/webhooks/kannel/dlr?" + sample("kannel", name)))
    assert KANNEL.verify(request)
    assert KANNEL.parse_status(request) == [expected]


@pytest.mark.parametrize("query, body", [
    ("text=Caf%E9&coding=0&charset=gsm", "Café"),  # a charset not named: not UTF-8, so Latin-1
    ("text=Caf%C3%A9&coding=0", "Café"),
    ("text=%00%E9&coding=2", "é"),  # UCS-2 by its coding alone
    ("text=%00%E9&charset=UTF16-BE", "é"),
])
def test_kannel_mo_body_is_decoded_by_its_charset_or_coding(query, body):
    request = kannel_get(with_secret(f"/webhooks/kannel/mo?id=1&from=14155552671&to=14155550100&{query}"))
    assert KANNEL.parse_inbound(request)[0].body == body


def test_kannel_report_type_nobody_documented_is_ignored():
    assert KANNEL.parse_status(kannel_get(with_secret("/webhooks/kannel/dlr?sid=s1&type=32"))) == []


@pytest.mark.parametrize("query, reason", [
    ("sid=s1", "type: required"),
    ("sid=s1&type=%25d", "type: expected"),  # a dlr-url Kannel did not fill in
    ("type=1", "sid: required"),
])
def test_kannel_dlr_refuses_malformed(query, reason):
    with pytest.raises(Malformed, match=reason):
        KANNEL.parse_status(kannel_get(with_secret(f"/webhooks/kannel/dlr?{query}")))


@pytest.mark.parametrize("query, reason", [
    ("from=1&to=2&text=x", "id: required"),
    ("id=1&from=1&to=2&text=%D8&coding=2&charset=UTF-16BE", "(?i)utf-16"),
    ("id=1&from=1&to=2&text=%FF&charset=UTF-8", "utf-8"),
])
def test_kannel_mo_refuses_malformed(query, reason):
    with pytest.raises(Malformed, match=reason):
        KANNEL.parse_inbound(kannel_get(with_secret(f"/webhooks/kannel/mo?{query}")))


# --- The secret, numbers, settings -------------------------------------------------------------------------

@pytest.mark.parametrize("carrier", [JASMIN, KANNEL], ids=["jasmin", "kannel"])
@pytest.mark.parametrize("secret, valid", [
    (SECRET, True), (None, False), ("", False), ("wrong-secret-0123456789", False), (SECRET[:-1], False),
    (SECRET + "x", False),
])
def test_the_secret_in_the_url_verifies(carrier, secret, valid):
    path = with_secret(f"{carrier.status_path}?message_id=1", secret)
    request = jasmin_post(path, jasmin_dlr(SID, "DELIVRD")) if carrier is JASMIN else kannel_get(path)
    assert carrier.verify(request) is valid


@pytest.mark.parametrize("carrier", [JASMIN, KANNEL], ids=["jasmin", "kannel"])
def test_a_secret_given_twice_does_not_verify(carrier):
    path = with_secret(with_secret(f"{carrier.status_path}?message_id=1"), "x")
    assert not carrier.verify(kannel_get(path) if carrier is KANNEL else jasmin_post(path, ""))


@pytest.mark.parametrize("carrier", [JASMIN, KANNEL], ids=["jasmin", "kannel"])
def test_our_status_callback_url_carries_the_secret(carrier):
    url = carrier.callback_url(PUBLIC, 42)
    assert url == f"{PUBLIC}{carrier.status_path}?message_id=42&secret={SECRET}"
    assert carrier.verify(kannel_get(url[len(PUBLIC):]) if carrier is KANNEL else jasmin_post(url[len(PUBLIC):], ""))


@pytest.mark.parametrize("number, region, expected", [
    ("14155552671", "", "+14155552671"),
    ("+14155552671", "", "+14155552671"),
    ("0014155552671", "", "+14155552671"),
    ("447700900123", "", "+447700900123"),
    ("07400123456", "GB", "+447400123456"),  # national, read in the default region
    ("07400123456", "", "07400123456"),  # national without a region: kept as it came
    ("0123", "GB", "0123"),  # not a number there either
    ("12345", "", "12345"),  # a short code
    ("Jasmin", "", "Jasmin"),  # an alphanumeric sender
])
def test_smpp_numbers_become_e164(number, region, expected):
    assert _smpp.e164(number, region) == expected


@pytest.mark.parametrize("module", [jasmin, kannel], ids=["jasmin", "kannel"])
@pytest.mark.parametrize("settings, reason", [
    ({"username": ""}, "username"),
    ({"password": ""}, "password"),
    ({"webhook_secret": ""}, "webhook_secret"),
    ({"webhook_secret": "short"}, "at least 16"),
    ({"webhook_secret": "has spaces and % in it!"}, "letters, digits"),
    ({"send_url": "ftp://x"}, "send_url"),
])
def test_settings_are_checked(module, settings, reason):
    good = {"username": USERNAME, "password": PASSWORD, "webhook_secret": SECRET}
    with pytest.raises(ConfigError, match=reason):
        module.check(module.Settings(**{**good, **settings}), Config())


def test_smpp_error_codes_mean_what_they_say():
    assert JASMIN.failure("ESME_RINVDSTADR").failure_class == FailureClass.INVALID_NUMBER
    assert not KANNEL.failure("ESME_RTHROTTLED").permanent
    assert KANNEL.failure("EXPIRED").failure_class == FailureClass.UNREACHABLE
    assert JASMIN.failure("ESME_RINVSRCADR").failure_class == FailureClass.OTHER


# --- Through a gateway -------------------------------------------------------------------------------------

@pytest.fixture
async def fake_jasmin(aiohttp_server) -> FakeJasmin:
    fake = FakeJasmin()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("/send"))
    return fake


@pytest.fixture
async def fake_kannel(aiohttp_server) -> FakeKannel:
    fake = FakeKannel()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("/cgi-bin/sendsms"))
    return fake


@pytest.fixture
def start_link(start_gateway, fake_jasmin, fake_kannel):
    """start_link("jasmin" | "kannel", **settings): a gateway with that carrier as the default, against its fake."""

    async def start(name: str, carrier: dict | None = None, sections: dict | None = None, **settings):
        fake = fake_jasmin if name == "jasmin" else fake_kannel
        table = {"send_url": fake.url, "username": USERNAME, "password": PASSWORD, "webhook_secret": SECRET,
                 **settings}
        gateway = await start_gateway("sandbox", carrier={"name": name, **(carrier or {})}, **{name: table},
                                      **(sections or {}))
        gateway.carrier = fake
        return gateway

    return start


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def mo(gateway, name: str, message_id: str, sender: str, text: str, secret: str | None = SECRET):
    """An SMS-MO to the proxy number, as the link calls us; returns (status, body)."""
    if name == "jasmin":
        request = gateway.client.post(with_secret("/webhooks/jasmin/mo", secret),
                                      data=jasmin_mo(message_id, sender, PROXY, text, coding=8),
                                      headers={"Content-Type": FORM})
    else:
        request = gateway.client.get(kannel_mo_path(message_id, sender.lstrip("+"), PROXY.lstrip("+"), text,
                                                    coding=2, secret=secret))
    async with request as response:
        return response.status, await response.text()


async def dlr(gateway, name: str, sent: dict, delivered: bool = True, code: str = ""):
    """The link's delivery report for one accepted send, at the dlr-url we gave it."""
    if name == "jasmin":
        form = jasmin_dlr(sent["sid"], code or ("DELIVRD" if delivered else "UNDELIV"), level=1 if code else 2)
        request = gateway.client.post(local(sent["dlr-url"]), data=form, headers={"Content-Type": FORM})
    else:
        answer = code or f"id:1 sub:001 dlvrd:001 stat:{'DELIVRD' if delivered else 'UNDELIV'} err:000"
        path = kannel_dlr_path(local(sent["dlr-url"]), 16 if code else 1 if delivered else 2, answer)
        request = gateway.client.get(path)
    async with request as response:
        return response.status, await response.text()


ACKS = {"jasmin": "ACK/Jasmin", "kannel": ""}


async def _message(gateway, conversation_id: int, kind: str, statuses=("accepted", "failed")) -> dict:
    async def check():
        found = [m for m in await gateway.messages(conversation_id) if m["kind"] == kind]
        return found[-1] if found and found[-1]["status"] in statuses else None

    return await wait_for(check, what=f"the {kind} in {statuses}")


@pytest.mark.parametrize("name", ["jasmin", "kannel"])
async def test_a_conversation_is_relayed_through_the_link(start_link, name):
    gateway = await start_link(name)
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)

    status, text = await mo(gateway, name, "mo-1", ALEX, "Oui, l'eau est à 28° 🏊")
    assert (status, text) == (200, ACKS[name])
    assert await gateway.delivered_to(PAT) == ["Oui, l'eau est à 28° 🏊"]
    relayed = await _message(gateway, conversation["id"], "relay")
    [sent] = [m for m in gateway.carrier.sent if m["To"] == PAT]
    assert relayed["carrier_sid"] == sent["sid"]
    assert sent["from"].lstrip("+") == PROXY.lstrip("+")

    assert await dlr(gateway, name, sent) == (200, ACKS[name])
    await _message(gateway, conversation["id"], "relay", ("delivered",))
    # A repeated report, and a late failure after it, are answered and change nothing (forward only).
    assert await dlr(gateway, name, sent) == (200, ACKS[name])
    assert await dlr(gateway, name, sent, delivered=False) == (200, ACKS[name])
    assert (await _message(gateway, conversation["id"], "relay", ("delivered",)))["error_code"] is None


@pytest.mark.parametrize("name", ["jasmin", "kannel"])
async def test_a_replayed_mo_is_stored_once(start_link, name):
    gateway = await start_link(name)
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    for _ in range(2):
        assert (await mo(gateway, name, "mo-same", ALEX, "Once only"))[0] == 200
    inbound = [m for m in await gateway.messages(conversation["id"]) if m["direction"] == "inbound"]
    assert len(inbound) == 1 and await gateway.delivered_to(PAT) == ["Once only"]


@pytest.mark.parametrize("name", ["jasmin", "kannel"])
@pytest.mark.parametrize("secret", [None, "wrong-secret-0123456789"])
async def test_a_call_without_the_secret_is_refused_and_stores_nothing(start_link, name, secret):
    gateway = await start_link(name)
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await _message(gateway, conversation["id"], "notification", ("accepted",))
    status, _ = await mo(gateway, name, "mo-forged", ALEX, "Forged", secret=secret)
    assert status == 403
    sent = gateway.carrier.sent[0]
    forged = {**sent, "dlr-url": sent["dlr-url"].replace(SECRET, secret or "")}
    assert (await dlr(gateway, name, forged))[0] == 403
    messages = await gateway.messages(conversation["id"])
    assert [m["direction"] for m in messages] == ["outbound"] and messages[0]["status"] == "accepted"


@pytest.mark.parametrize("name, code", [("jasmin", "ESME_RINVDSTADR"),
                                        ("kannel", "NACK/0x0000000b/Invalid Destination Address")])
async def test_a_refused_submit_fails_the_message_with_its_smpp_code(start_link, name, code):
    gateway = await start_link(name)
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    assert (await dlr(gateway, name, gateway.carrier.sent[0], code=code))[0] == 200
    message = await _message(gateway, conversation["id"], "notification", ("failed",))
    assert message["error_code"] == "ESME_RINVDSTADR"


@pytest.mark.parametrize("name, reply, code", [
    ("jasmin", Reply(400, 'Error "Argument _ has an invalid value: _."'), "400"),
    ("jasmin", Reply(412, 'Error "No route found"'), "412"),
    ("kannel", Reply(400, "Missing receiver number"), "400"),
    ("kannel", Reply(404, "Unknown sendsms-user"), "404"),
])
async def test_a_4xx_fails_the_message_visibly_and_is_not_retried(start_link, name, reply, code):
    gateway = await start_link(name)
    gateway.carrier.then(reply)
    conversation = await gateway.conversation((await gateway.community())["id"])
    message = await _message(gateway, conversation["id"], "notification")
    assert (message["status"], message["error_code"], message["attempts"]) == ("failed", code, 1)
    assert reply.body in message["error_message"] and len(gateway.carrier.requests) == 1


@pytest.mark.parametrize("name", ["jasmin", "kannel"])
async def test_wrong_credentials_fail_the_message_visibly(start_link, name):
    gateway = await start_link(name, password="wrong")
    conversation = await gateway.conversation((await gateway.community())["id"])
    message = await _message(gateway, conversation["id"], "notification")
    assert (message["status"], message["error_code"]) == ("failed", "403")


@pytest.mark.parametrize("name", ["jasmin", "kannel"])
async def test_429_and_5xx_are_retried_then_sent(start_link, name):
    gateway = await start_link(name)
    gateway.carrier.then(Reply(429, "Too many", retry_after="0"), Reply(503, "Temporal failure, try again later"))
    conversation = await gateway.conversation((await gateway.community())["id"])
    message = await _message(gateway, conversation["id"], "notification")
    assert message["status"] == "accepted" and message["attempts"] == 3
    assert len(gateway.carrier.requests) == 3 and len(gateway.carrier.sent) == 1


@pytest.mark.parametrize("name", ["jasmin", "kannel"])
async def test_a_slow_link_times_out_and_is_retried(start_link, name):
    gateway = await start_link(name, carrier={"send_timeout": 0.3})
    gateway.carrier.then(Reply(delay=1.0))
    conversation = await gateway.conversation((await gateway.community())["id"])
    message = await _message(gateway, conversation["id"], "notification")
    assert message["status"] == "accepted" and message["attempts"] == 2


async def test_jasmin_send_asks_for_receipts_and_codes_unicode_as_ucs2(start_link):
    gateway = await start_link("jasmin", dlr_level=2)
    conversation = await gateway.conversation((await gateway.community())["id"], message="Bon appétit €")
    await gateway.delivered_to(ALEX)
    [request] = gateway.carrier.requests
    message = await _message(gateway, conversation["id"], "notification")
    assert (request["dlr"], request["dlr-level"], request["dlr-method"], request["coding"]) == ("yes", "2", "POST", "8")
    assert request["to"] == ALEX.lstrip("+") and "content" not in request
    assert request["dlr-url"] == \
        f"{gateway.config.public_url}/webhooks/jasmin/dlr?message_id={message['id']}&secret={SECRET}"


async def test_kannel_send_carries_our_sid_and_kannels_escapes_in_the_dlr_url(start_link):
    gateway = await start_link("kannel", dlr_mask=3)
    conversation = await gateway.conversation((await gateway.community())["id"])
    await gateway.delivered_to(ALEX)
    [request] = gateway.carrier.requests
    message = await _message(gateway, conversation["id"], "notification")
    assert (request["dlr-mask"], request["charset"], request["to"]) == ("3", "UTF-8", ALEX)
    assert request["dlr-url"] == (f"{gateway.config.public_url}/webhooks/kannel/dlr?message_id={message['id']}"
                                  f"&secret={SECRET}&sid={message['carrier_sid']}&type=%d&answer=%A")


async def test_routes_take_the_methods_each_link_calls_with(start_link):
    """Kannel calls with GET alone; a Jasmin HTTP connector may be set to GET or POST (webhook_methods)."""
    kannel_table = {"username": USERNAME, "password": PASSWORD, "webhook_secret": SECRET}
    gateway = await start_link("jasmin", carrier={"also": "kannel"}, sections={"kannel": kannel_table})
    await gateway.community()
    async with gateway.client.post(kannel_mo_path("k1", "14155552671", "14155550100", "hi")) as response:
        assert response.status == 405
    query = jasmin_mo("j1", ALEX, PROXY, "By GET")
    async with gateway.client.get(with_secret(f"/webhooks/jasmin/mo?{query}")) as response:
        assert (response.status, await response.text()) == (200, "ACK/Jasmin")

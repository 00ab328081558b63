"""What a newcomer found by trying the finished issue 11 (five new carriers, the "both" webhook kind): each a
reproduction over HTTP, written before its fix."""

from __future__ import annotations

import json
import secrets
import uuid

import pytest

from tests.fakes import Reply
from tests.fakes_bandwidth import inbound_event
from tests.helpers import ALEX, PROXY, PROXY_2, wait_for
from tests import test_bandwidth, test_vonage
from tests.test_bandwidth import post as bandwidth_post
from tests.test_vonage import post as vonage_post

# Their fixtures, used here by name.
fake_bandwidth, start_bandwidth = test_bandwidth.fake_bandwidth, test_bandwidth.start_bandwidth
vonage = test_vonage.vonage  # fake_vonage and start_vonage are in conftest


def _vonage_inbound(**changes) -> dict:
    return {"channel": "sms", "message_uuid": str(uuid.uuid4()), "to": PROXY.lstrip("+"), "from": ALEX.lstrip("+"),
            "timestamp": "2026-11-29T14:00:00Z", "message_type": "text", "text": "hello", **changes}


@pytest.mark.parametrize("changes", [
    {"text": 123}, {"text": ["hello"]}, {"text": {"body": "hello"}}, {"text": True},
    {"message_type": "image", "image": {"url": "https://example.com/a.jpg", "caption": ["hi"]}},
    {"message_type": "image", "image": {"url": "https://example.com/a.jpg", "caption": 7}},
])
async def test_a_vonage_text_that_is_not_a_string_is_refused_not_stored_empty(vonage, db, changes):
    """A Vonage inbound whose "text" (or an MMS's caption) was a number, an array or an object was stored as an
    empty message (201 and a blank text relayed): the text was silently lost."""
    await vonage.community()
    status, body = await vonage_post(vonage, "/webhooks/vonage/inbound", _vonage_inbound(**changes))
    assert status == 400, body
    assert json.loads(body)["error"]["code"] == "invalid_field"
    assert await db.fetchval("SELECT count(*) FROM messages WHERE direction = 'inbound'") == 0


async def test_a_bandwidth_array_with_a_text_to_another_carriers_number_stores_nothing(start_bandwidth, db):
    """One Bandwidth callback array, a text to our Bandwidth number and one to a number on the sandbox: the
    request was refused (403 wrong_carrier), yet the first text was stored: half the array."""
    gateway = await start_bandwidth(carrier={"also": "sandbox"}, sandbox={"auth_token": "s" * 24})
    await gateway.community(numbers=[PROXY, {"phone": PROXY_2, "carrier": "sandbox"}])
    status, body = await bandwidth_post(gateway, [inbound_event(ALEX, PROXY, "mine"),
                                                  inbound_event(ALEX, PROXY_2, "not mine")])
    assert status == 403, body
    assert json.loads(body)["error"]["code"] == "wrong_carrier"
    assert await db.fetchval("SELECT count(*) FROM messages WHERE direction = 'inbound'") == 0


# --- Sending: odd answers from a carrier's API ----------------------------------------------------------------

def _carriers(base: str) -> dict:
    """Every HTTP carrier, sending to base (a local server playing an odd API)."""
    import dataclasses

    from gateway.carriers import bandwidth, jasmin, kannel, plivo, telnyx, vonage
    from gateway.config import load

    config = load({})
    config = dataclasses.replace(config, carrier=dataclasses.replace(config.carrier, send_timeout=2.0))
    key = "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE="
    return {
        "telnyx": telnyx.create(telnyx.Settings(api_key="k", public_key=key, api_base=base), config),
        "vonage": vonage.create(vonage.Settings(api_key="k", api_secret="s", signature_secret="x",
                                                api_base=base), config),
        "bandwidth": bandwidth.create(bandwidth.Settings(
            account_id="a", application_id="b", username="c", password="d", api_base=base,
            callback_username="u", callback_password="p"), config),
        "plivo": plivo.create(plivo.Settings(auth_id="a", auth_token="t", api_base=base), config),
        "jasmin": jasmin.create(jasmin.Settings(send_url=base + "/send", username="u", password="p",
                                                webhook_secret="s" * 16), config),
        "kannel": kannel.create(kannel.Settings(send_url=base + "/cgi-bin/sendsms", username="u", password="p",
                                                webhook_secret="s" * 16), config),
    }


async def _send_against(aiohttp_server, name: str, answer) -> tuple[object, list[str]]:
    """One send of carrier name against a server that answers every path but /elsewhere with answer(request);
    (the send's result, the paths the server was called at)."""
    import aiohttp
    from aiohttp import web

    from gateway.carriers.base import OutboundSms, Resources

    called: list[str] = []

    async def anything(request: web.Request) -> web.StreamResponse:
        called.append(request.path)
        await request.read()
        if request.path == "/elsewhere":  # where a redirect points: it takes anything
            return web.json_response({"data": {"id": "X"}, "id": "X", "message_uuid": ["X"]}, status=202)
        return answer(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    server = await aiohttp_server(app)
    carrier = _carriers(str(server.make_url("")).rstrip("/"))[name]
    async with aiohttp.ClientSession() as session:
        await carrier.open(Resources(session, None, None))
        result = await carrier.send(OutboundSms(1, PROXY, ALEX, "hello"), "https://gw.example/cb?message_id=1")
    return result, called


HTTP_CARRIERS = ["telnyx", "vonage", "bandwidth", "plivo", "jasmin", "kannel"]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("name", HTTP_CARRIERS)
async def test_a_redirect_from_the_send_api_is_not_followed(aiohttp_server, name, status):
    """A send API answering 3xx was followed (aiohttp's default): the text (and, on the same host, the
    credentials) went wherever the Location header said, and whatever answered there counted as the carrier's
    answer (a 202 with an id: "accepted" by a server that is no carrier)."""
    from aiohttp import web

    from gateway.carriers.base import Accepted

    result, called = await _send_against(
        aiohttp_server, name, lambda request: web.Response(status=status, headers={"Location": "/elsewhere"}))
    assert "/elsewhere" not in called
    assert not isinstance(result, Accepted), result


@pytest.mark.parametrize("answer", [
    (200, "<html><body>Welcome to nginx!</body></html>"), (200, ""), (202, "{}"),
])
async def test_kannel_takes_only_its_own_accepted_answer_as_a_send(aiohttp_server, answer):
    """Kannel's sendsms answers "0: Accepted for delivery" or "3: Queued for later delivery" (202); any 2xx was
    taken as accepted (an HTML page of a proxy in front of a smsbox that is down, too): the message was marked
    sent with a sid no report would ever name, so it sat "accepted" for ever."""
    from aiohttp import web

    from gateway.carriers.base import Accepted

    status, text = answer
    result, _ = await _send_against(aiohttp_server, "kannel", lambda request: web.Response(status=status, text=text))
    assert not isinstance(result, Accepted), result


@pytest.mark.parametrize("text", ["0: Accepted for delivery", "3: Queued for later delivery"])
async def test_kannels_accepted_answers_are_sends(aiohttp_server, text):
    from aiohttp import web

    from gateway.carriers.base import Accepted

    result, _ = await _send_against(aiohttp_server, "kannel", lambda request: web.Response(status=202, text=text))
    assert isinstance(result, Accepted), result


# --- Start-up -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("variable, value, named", [
    ("VONAGE_TIMESTAMP_TOLERANCE", "abc", "vonage.timestamp_tolerance (VONAGE_TIMESTAMP_TOLERANCE)"),
    ("TELNYX_TIMESTAMP_TOLERANCE", "5 minutes", "telnyx.timestamp_tolerance (TELNYX_TIMESTAMP_TOLERANCE)"),
    ("JASMIN_DLR_LEVEL", "both", "jasmin.dlr_level (JASMIN_DLR_LEVEL)"),
    ("KANNEL_DLR_MASK", "all", "kannel.dlr_mask (KANNEL_DLR_MASK)"),
])
def test_a_carrier_setting_of_the_wrong_type_names_its_variable(variable, value, named):
    """JASMIN_DLR_LEVEL=both stopped start-up with "jasmin.dlr_level: expected int, got 'both'": every other
    carrier setting's error names its variable too, the one a newcomer following the README set."""
    from gateway.config import ConfigError, load

    with pytest.raises(ConfigError) as error:
        load({variable: value})
    assert str(error.value).startswith(named + ": expected "), str(error.value)


@pytest.mark.parametrize("variable, value", [
    ("TELNYX_API_KEY", "KEY0123\r"),  # an env file saved with Windows line ends
    ("VONAGE_API_SECRET", "secret\n"),
    ("PLIVO_AUTH_ID", "MA123\tx"),
    ("BANDWIDTH_CLIENT_SECRET", "s\x00"),
    ("JASMIN_PASSWORD", "pw\x7f"),
])
def test_a_carrier_setting_with_a_control_character_stops_start_up(variable, value):
    """TELNYX_API_KEY="KEY\\r" (a CRLF env file) started the gateway; every send then raised in aiohttp ("Forbidden
    control character detected in headers"), logged as message_send_crashed with a traceback, the message waiting
    for its lease again and again. Start-up stops instead, with one line naming the setting."""
    from gateway.config import ConfigError, carrier_setting, load

    carrier, setting = variable.lower().split("_", 1)
    with pytest.raises(ConfigError, match=r"^" + carrier_setting(carrier, setting).replace("(", r"\(")
                                            .replace(")", r"\)") + ": "):
        load({variable: value})


@pytest.mark.parametrize("carrier", ["jasmin", "kannel"])
@pytest.mark.parametrize("region", ["UK", "gb", "ZZ", "GBR"])
def test_an_smpp_links_default_region_must_be_one_phonenumbers_knows(carrier, region):
    """JASMIN_DEFAULT_REGION=UK (or gb) started the gateway, and every national number from the link (07911 123456)
    then stayed national: a text to our number written so was to nobody's number. Only an upper-case region code
    of the numbering plan (GB) reads it."""
    from gateway.config import ConfigError, load

    env = {"CARRIER": carrier, f"{carrier.upper()}_USERNAME": "u", f"{carrier.upper()}_PASSWORD": "p",
           f"{carrier.upper()}_WEBHOOK_SECRET": "s" * 20, f"{carrier.upper()}_DEFAULT_REGION": region,
           "GATEWAY_VERIFICATION_SECRET": "x" * 16, "GATEWAY_WEBHOOK_SECRET": "y" * 16}
    with pytest.raises(ConfigError, match=rf"^{carrier}\.default_region \({carrier.upper()}_DEFAULT_REGION\): "):
        load(env)
    load({**env, f"{carrier.upper()}_DEFAULT_REGION": "GB"})


async def test_a_status_kept_as_the_send_was_recorded_is_applied(start_gateway, db, fake_twilio):
    """A status callback that missed the message (its send not recorded yet) and was kept only after the send's
    record had collected the kept ones (two statements, two snapshots: neither saw the other) was never applied;
    seen with Bandwidth, whose statuses name no message id, under load. The race leaves a kept status whose sid a
    recorded send has: that state is made here, and the gateway must apply it."""
    sid = "SM" + secrets.token_hex(16)
    fake_twilio.then(Reply(sid=sid))
    gateway = await start_gateway(kind="twilio")
    community = await gateway.community(numbers=[PROXY])
    conversation = await gateway.conversation(community["id"])

    async def status():
        [sent] = [m for m in await gateway.messages(conversation["id"]) if m["direction"] == "outbound"]
        return sent["status"]

    await wait_for(lambda: _is(status(), "accepted"), what="the send recorded")
    await db.execute("INSERT INTO early_statuses (carrier_sid, status, error_code, carrier) "
                     "VALUES ($1, 'delivered', NULL, 'twilio')", sid)
    await wait_for(lambda: _is(status(), "delivered"), what="the kept status applied")
    assert await db.fetchval("SELECT count(*) FROM early_statuses") == 0


async def _is(value, expected) -> bool:
    return await value == expected

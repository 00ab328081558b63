"""Every reproduction of "bad input answers 500" (issue 9, section 4): each gets a 4xx with the JSON error body
and stores nothing; and what carriers really send (a NUL in a body) is kept, not refused."""

import asyncio
import json
import secrets

import pytest

from gateway.carriers.twilio import signature
from tests.fakes import ACCOUNT_SID, Reply
from tests import helpers
from tests.helpers import ALEX, PAT, PROXY, TOKEN, wait_for

AUTH = {"Authorization": f"Bearer {TOKEN}"}
DEEP = ('{"a":' * 2000 + "1" + "}" * 2000).encode()


async def raw_request(gateway, head: bytes, body: bytes = b"") -> tuple[int, dict]:
    status, payload = await helpers.raw_request(gateway.config.server.port, head, body)
    return status, json.loads(payload)


async def messages_stored(db) -> int:
    return await db.fetchval("SELECT count(*) FROM messages")


def _form(**fields) -> dict:
    return {"MessageSid": "SM" + secrets.token_hex(16), "AccountSid": ACCOUNT_SID, "From": PAT, "To": PROXY,
            "Body": "hello", "NumMedia": "0", **fields}


# (name, method, path, JSON body or raw bytes, status, code)
API_CASES = [
    ("deep_json", "POST", "/v1/communities", DEEP, 400, "invalid_json"),
    ("deep_json_patch", "PATCH", "/v1/communities/1", DEEP, 400, "invalid_json"),
    ("nul_in_opt_out_url", "PATCH", "/v1/communities/1", {"opt_out_webhook_url": "https://a.example/\u0000"},
     422, "invalid_field"),
    ("surrogate_in_alert_url", "PATCH", "/v1/communities/1", {"alert_webhook_url": "https://a.example/\ud800"},
     422, "invalid_field"),
    ("surrogate_in_timezone", "PATCH", "/v1/communities/1", {"timezone": "\ud800"}, 422, "invalid_field"),
    ("nul_in_verification_code", "POST", "/v1/verifications/1/check", {"code": "12\u00003"}, 422, "invalid_field"),
    ("surrogate_in_verification_code", "POST", "/v1/verifications/1/check", {"code": "\udc80"}, 422,
     "invalid_field"),
    ("superscript_id", "GET", "/v1/conversations/%C2%B2", None, 404, "not_found"),
    ("arabic_indic_id", "GET", "/v1/conversations/%D9%A1", None, 404, "not_found"),
    ("arabic_indic_message_id", "GET", "/v1/messages/%D9%A1", None, 404, "not_found"),
    ("superscript_limit", "GET", "/v1/conversations/1/messages?limit=%C2%B2", None, 422, "invalid_query"),
    ("superscript_after", "GET", "/v1/conversations/1/messages?after=%C2%B2", None, 422, "invalid_query"),
    ("arabic_indic_after", "GET", "/v1/conversations/1/messages?after=%D9%A1", None, 422, "invalid_query"),
    ("held_superscript_after", "GET", "/v1/communities/1/held?after=%C2%B2", None, 422, "invalid_query"),
    ("held_superscript_limit", "GET", "/v1/communities/1/held?limit=%C2%B2", None, 422, "invalid_query"),
    ("contacts_superscript_limit", "GET", "/v1/communities/1/contacts?limit=%C2%B2", None, 422, "invalid_query"),
    ("contacts_nul_after", "GET", "/v1/communities/1/contacts?after=%00", None, 422, "invalid_query"),
]


# What a refused request could have changed: the messages and the community's settings. The columns the
# background tasks keep (the day's bookkeeping, the rates) change on their own schedule meanwhile.
SNAPSHOT = ("SELECT (SELECT count(*) FROM messages) AS messages, (SELECT (to_jsonb(c) - 'current_day' "
            "- 'day_started_at' - 'counters_loaded_day' - 'daily_level' - 'compliance_state' - 'error_rate' "
            "- 'opt_out_rate' - 'rates_checked_at' - 'compliance_changed_at')::text "
            "FROM communities c WHERE id = 1) AS community")


@pytest.fixture
async def conversation(gateway):
    community = await gateway.community()
    return await gateway.conversation(community["id"])


@pytest.mark.parametrize("name, method, path, body, status, code", API_CASES, ids=[c[0] for c in API_CASES])
async def test_bad_api_input_gets_a_4xx(gateway, db, conversation, name, method, path, body, status, code):
    await gateway.call("POST", "/v1/verifications", {"community_id": 1, "phone": PAT})
    before = await db.fetchrow(SNAPSHOT)
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    headers = {**AUTH, "Content-Type": "application/json"}
    async with gateway.client.request(method, path, data=data, headers=headers) as response:
        answer = await response.json()
        assert (response.status, answer["error"]["code"]) == (status, code), answer
        assert set(answer["error"]) == {"code", "message"}
    after = await db.fetchrow(SNAPSHOT)
    assert after == before


RAW_CASES = [
    ("non_utf8_signature", b"POST /webhooks/twilio/sms HTTP/1.1\r\nX-Twilio-Signature: \xe9"
                           b"\r\nContent-Type: application/x-www-form-urlencoded", b"From=%2B1&To=%2B1", 403,
     "bad_signature"),
    ("non_utf8_bearer", b"GET /v1/communities/1 HTTP/1.1\r\nAuthorization: Bearer \xe9", b"", 401, "unauthorized"),
    ("non_utf8_request_id", b"GET /v1/communities/1 HTTP/1.1\r\nX-Request-Id: \xe9", b"", 401, "unauthorized"),
]


@pytest.mark.parametrize("name, head, body, status, code", RAW_CASES, ids=[c[0] for c in RAW_CASES])
async def test_non_utf8_headers_get_a_4xx_without_credentials(gateway, name, head, body, status, code):
    got, answer = await raw_request(gateway, head, body)
    assert (got, answer["error"]["code"]) == (status, code), answer


WEBHOOK_CASES = [
    ("superscript_num_media", "/webhooks/twilio/sms", _form(NumMedia="²"), 400, "invalid_field"),
    ("arabic_indic_num_media", "/webhooks/twilio/sms", _form(NumMedia="١"), 400, "invalid_field"),
    ("empty_message_sid", "/webhooks/twilio/sms", _form(MessageSid=""), 400, "invalid_field"),
    ("empty_from", "/webhooks/twilio/sms", _form(From=""), 400, "invalid_field"),
    ("empty_to", "/webhooks/twilio/sms", _form(To=""), 400, "invalid_field"),
    ("superscript_mid", "/webhooks/twilio/status?mid=%C2%B2",
     {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered"}, 400, "invalid_query"),
    ("empty_status_sid", "/webhooks/twilio/status", {"MessageSid": "", "MessageStatus": "delivered"}, 400,
     "invalid_field"),
]


async def post_signed(gateway, path: str, form: dict) -> tuple[int, str]:
    url = gateway.config.public_url + path
    headers = {"X-Twilio-Signature": signature(gateway.token, url, list(form.items()))}
    async with gateway.client.post(path, data=form, headers=headers) as response:
        return response.status, await response.text()


@pytest.mark.parametrize("name, path, form, status, code", WEBHOOK_CASES, ids=[c[0] for c in WEBHOOK_CASES])
async def test_bad_signed_webhooks_get_a_4xx_and_store_nothing(gateway, db, conversation, name, path, form, status,
                                                               code):
    before = await messages_stored(db)
    got, text = await post_signed(gateway, path, form)
    assert (got, json.loads(text)["error"]["code"]) == (status, code), text
    assert await messages_stored(db) == before
    assert await db.fetchval("SELECT count(*) FROM early_statuses") == 0


async def _accepted_sid(gateway, conversation_id: int) -> str:
    async def accepted():
        return [m for m in await gateway.messages(conversation_id) if m["carrier_sid"]]
    return (await wait_for(accepted, what="an accepted send"))[0]["carrier_sid"]


async def test_a_later_empty_sid_is_not_dropped_as_a_duplicate(gateway, db, conversation):
    """An empty sid was stored once, then every later empty sid was a "duplicate": now each is refused."""
    for _ in range(2):
        status, _ = await post_signed(gateway, "/webhooks/twilio/sms", _form(MessageSid=""))
        assert status == 400
    assert await db.fetchval("SELECT count(*) FROM messages WHERE carrier_sid = ''") == 0


async def test_an_inbound_carrying_one_of_our_outbound_sids_is_refused(gateway, db, conversation):
    sid = await _accepted_sid(gateway, conversation["id"])
    before = await messages_stored(db)
    status, text = await post_signed(gateway, "/webhooks/twilio/sms", _form(MessageSid=sid, Body="STOP"))
    assert (status, json.loads(text)["error"]["code"]) == (409, "sid_in_use"), text
    assert await messages_stored(db) == before
    assert await db.fetchval("SELECT count(*) FROM contacts WHERE preference = 'opted_out'") == 0


async def test_a_status_callback_with_another_messages_sid_is_refused(gateway, db, conversation):
    taken = await _accepted_sid(gateway, conversation["id"])
    gateway.carrier.then(Reply(status=400, code=21211, message="Invalid 'To' Phone Number"))
    status, written = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                                         {"from": "advocate", "body": "are you there?"})
    assert status == 201, written
    failed = await wait_for(lambda: _with_status(gateway, written["id"], "failed"), what="the send to fail")
    assert failed["carrier_sid"] is None
    status, text = await post_signed(gateway, f"/webhooks/twilio/status?mid={failed['id']}",
                                     {"MessageSid": taken, "MessageStatus": "delivered"})
    assert (status, json.loads(text)["error"]["code"]) == (409, "sid_in_use"), text
    assert (await gateway.message(failed["id"]))["carrier_sid"] is None


async def _with_status(gateway, message_id, status):
    message = await gateway.message(message_id)
    return message if message["status"] == status else None


async def test_a_nul_in_a_body_is_removed_and_the_message_relayed(gateway, db, conversation):
    """Carriers deliver U+0000 (seen in place of "@"); the signature is over the form as it came."""
    status, text = await post_signed(gateway, "/webhooks/twilio/sms", _form(Body="mail me at pat\x00example.org"))
    assert status == 200, text
    assert "mail me at patexample.org" in await gateway.delivered_to(ALEX, 2)
    stored = await db.fetchval("SELECT body FROM messages WHERE direction = 'inbound'")
    assert stored == "mail me at patexample.org"


async def test_a_body_trickled_slowly_is_cut_off(start_gateway):
    """One byte at a time, each well inside any per-read timeout: the whole body must still arrive in time."""
    gateway = await start_gateway(server={"body_timeout": 0.5})
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.config.server.port)
    try:
        writer.write(b"POST /webhooks/twilio/sms HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n\r\n")
        answer = b""
        for _ in range(200):  # 200 x 0.1 s: far longer than the deadline
            try:
                writer.write(b"a")
                await writer.drain()
            except ConnectionError:
                break
            chunk = await _read_some(reader)
            answer += chunk
            if reader.at_eof():
                break
        assert reader.at_eof(), "the server kept a trickling connection open"
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["code"] == "body_timeout"
    finally:
        writer.close()


async def _read_some(reader) -> bytes:
    try:
        return await asyncio.wait_for(reader.read(4096), 0.1)
    except TimeoutError:
        return b""
    except ConnectionError:
        return b""


@pytest.mark.parametrize("charset", ["bogus", "rot13", "utf-16", "utf-32", "idna", "zlib_codec"])
async def test_a_form_in_an_unknown_or_odd_charset_is_refused(gateway, db, conversation, charset):
    before = await messages_stored(db)
    form = b"MessageSid=SM1&From=%2B14155552671&To=%2B14155550100&Body=hi"
    headers = {"Content-Type": f"application/x-www-form-urlencoded; charset={charset}", "X-Twilio-Signature": "x"}
    async with gateway.client.post("/webhooks/twilio/sms", data=form, headers=headers) as response:
        assert 400 <= response.status < 500, await response.text()
        assert set((await response.json())["error"]) == {"code", "message"}
    assert await messages_stored(db) == before

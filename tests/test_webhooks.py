"""Carrier webhooks: signatures, retries of the same sid, unrouted senders, status callbacks in any order."""

import json

import pytest

from tests.fakes import Reply

from gateway.carriers.twilio import signature
from tests.helpers import ALEX, PAT, PROXY, SAM, wait_for

# Published vectors of Twilio's own request validator (token "12345").
VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_FORM = [("CallSid", "CA1234567890ABCDE"), ("Digits", "1234"), ("From", "+14158675309"),
               ("To", "+18005551212"), ("Caller", "+14158675309")]


def test_signature_matches_twilios_published_vectors():
    assert signature("12345", VECTOR_URL, VECTOR_FORM) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    duplicate = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert signature("12345", VECTOR_URL, duplicate) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


async def count_messages(db) -> int:
    return await db.fetchval("SELECT count(*) FROM messages")


async def _post_signed(gateway, signed_form: dict, sent_form: dict, token: str):
    url = gateway.config.public_url + "/webhooks/twilio/sms"
    headers = {"X-Twilio-Signature": signature(token, url, list(signed_form.items()))}
    async with gateway.client.post("/webhooks/twilio/sms", data=sent_form, headers=headers) as response:
        return response.status, await response.json()


@pytest.mark.parametrize("how", ["missing", "tampered_body", "other_token", "other_url"])
async def test_unsigned_or_forged_webhooks_are_refused(gateway, db, how):
    community = await gateway.community()
    await gateway.conversation(community["id"])
    before = await count_messages(db)
    form = {"MessageSid": "SM" + "b" * 32, "From": PAT, "To": PROXY, "Body": "original"}
    if how == "missing":
        status, text = await gateway.sms(PAT, PROXY, "hi", signed=False)
        body = json.loads(text)
    elif how == "tampered_body":
        status, body = await _post_signed(gateway, form, {**form, "Body": "changed"}, gateway.token)
    elif how == "other_token":
        status, body = await _post_signed(gateway, form, form, "not-the-token")
    else:
        url = "http://elsewhere.example/webhooks/twilio/sms"
        headers = {"X-Twilio-Signature": signature(gateway.token, url, list(form.items()))}
        async with gateway.client.post("/webhooks/twilio/sms", data=form, headers=headers) as response:
            status, body = response.status, await response.json()
    assert status == 403
    assert body["error"]["code"] == "bad_signature"
    assert await count_messages(db) == before


async def test_carrier_retry_of_the_same_sid_relays_once(gateway, db):
    community = await gateway.community()
    await gateway.conversation(community["id"])
    for _ in range(3):
        status, _ = await gateway.sms(PAT, PROXY, "Only once please", sid="SM" + "a" * 32)
        assert status == 200
    await gateway.delivered_to(ALEX, 2)
    assert await db.fetchval("SELECT count(*) FROM messages WHERE carrier_sid = $1", "SM" + "a" * 32) == 1
    assert await db.fetchval("SELECT count(*) FROM messages WHERE kind = 'relay'") == 1
    assert gateway.carrier.bodies_to(ALEX).count("Only once please") == 1


async def test_unknown_fields_are_accepted_and_signed_over(gateway):
    community = await gateway.community()
    await gateway.conversation(community["id"])
    status, _ = await gateway.sms(PAT, PROXY, "hello", extra={"BrandNewField": "x", "FromCity": "SAN FRANCISCO"})
    assert status == 200
    assert "hello" in await gateway.delivered_to(ALEX, 2)  # the notification may land after it


async def test_unrouted_sender_gets_one_auto_reply_a_day(gateway, db):
    await gateway.community()
    for text in ("Hello?", "Anyone there?"):
        status, _ = await gateway.sms(SAM, PROXY, text)
        assert status == 200
    assert await gateway.delivered_to(SAM) == ["This number only relays active conversations."]
    stored = await db.fetch("SELECT conversation_id, direction FROM messages WHERE from_number = $1", SAM)
    assert [(r["conversation_id"], r["direction"]) for r in stored] == [(None, "inbound")] * 2
    await db.execute("UPDATE auto_replies SET day = day - 1")  # as if the first reply was yesterday
    await gateway.sms(SAM, PROXY, "Third try")
    assert len(await gateway.delivered_to(SAM, 2)) == 2


async def test_message_to_a_number_we_do_not_own_is_stored_without_reply(gateway, db):
    status, _ = await gateway.sms(SAM, "+14155559999", "hello")
    assert status == 200
    assert await db.fetchval("SELECT count(*) FROM messages WHERE direction = 'inbound'") == 1
    assert await db.fetchval("SELECT count(*) FROM messages WHERE direction = 'outbound'") == 0


async def _sent_message(gateway):
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    [sent] = await wait_for(lambda: _accepted(gateway, conversation["id"]), what="accepted notification")
    return sent


async def _accepted(gateway, conversation_id):
    return [m for m in await gateway.messages(conversation_id) if m["status"] == "accepted"]


async def test_status_only_moves_forward(gateway):
    sent = await _sent_message(gateway)
    for status in ("sent", "delivered", "sent", "queued", "failed"):
        code, _ = await gateway.status(sent["carrier_sid"], status, mid=sent["id"], error_code="30003")
        assert code == 200
    message = await gateway.message(sent["id"])
    assert message["status"] == "delivered"
    assert [h["status"] for h in message["history"]] == ["queued", "accepted", "sent", "delivered"]


async def test_failed_is_final_and_keeps_its_code(gateway):
    sent = await _sent_message(gateway)
    await gateway.status(sent["carrier_sid"], "failed", mid=sent["id"], error_code="30006")
    await gateway.status(sent["carrier_sid"], "delivered", mid=sent["id"])
    message = await gateway.message(sent["id"])
    assert (message["status"], message["error_code"]) == ("failed", "30006")


async def test_status_matched_by_sid_without_our_id(gateway):
    sent = await _sent_message(gateway)
    await gateway.status(sent["carrier_sid"], "delivered")
    assert (await gateway.message(sent["id"]))["status"] == "delivered"


@pytest.mark.parametrize("with_our_id", [True, False])
async def test_status_before_the_send_reply_is_kept_and_applied(gateway, db, with_our_id):
    sid = "SM" + "e" * 32
    gateway.carrier.then(Reply(delay=0.5, sid=sid))  # the carrier is slow to answer the send
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await wait_for(lambda: _submitting(db), what="send in flight")
    [message_id] = [m["id"] for m in await gateway.messages(conversation["id"])]
    # The callback overtakes the send's reply; without our id in its URL the sid is still unknown to us.
    code, _ = await gateway.status(sid, "delivered", mid=message_id if with_our_id else None)
    assert code == 200
    message = await wait_for(lambda: _with_status(gateway, message_id, "delivered"), what="delivered")
    assert message["carrier_sid"] == sid
    assert [h["status"] for h in message["history"]][-1] == "delivered"
    assert await db.fetchval("SELECT count(*) FROM early_statuses") == 0


async def test_status_for_an_unknown_sid_is_kept_until_the_sid_is_recorded(gateway, db):
    code, _ = await gateway.status("SM" + "f" * 32, "delivered")
    assert code == 200
    assert await db.fetchval("SELECT count(*) FROM early_statuses") == 1


async def _submitting(db):
    return await db.fetchval("SELECT count(*) FROM messages WHERE status = 'submitting'")


async def _with_status(gateway, message_id, status):
    message = await gateway.message(message_id)
    return message if message["status"] == status else None

"""Input from real phones: pictures that cannot be fetched, empty texts, and senders that cannot take a text."""

import pytest

from tests.helpers import ALEX, PAT, PROXY, wait_for

NOT_RECEIVED = "Your picture wasn't relayed: it could not be received."

# A real carrier's URL: not in the tests' media.fetch_hosts, so the gateway never asks it (tests/test_media.py has
# pictures relayed from the carrier fake).
PICTURE = {"NumMedia": "1", "MediaUrl0": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
           "MediaContentType0": "image/jpeg"}


async def _sent(gateway, phone, count):
    bodies = gateway.carrier.bodies_to(phone)
    return bodies if len(bodies) >= count else None


async def test_a_picture_alone_that_cannot_be_fetched_sends_nothing_empty(gateway, db):
    """issue 9: a picture-only MMS queued and sent an empty SMS, which the carrier refuses. Issue 14: a picture
    alone relays "(picture)" with it; one that cannot be fetched (here: a host the gateway may not ask) relays
    nothing, and the sender is told, once per message."""
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    assert (await gateway.sms(PAT, PROXY, "", extra=PICTURE))[0] == 200
    assert await wait_for(lambda: _sent(gateway, PAT, 1), what="the notice") == [NOT_RECEIVED]
    await gateway.sms(PAT, PROXY, "Did you get it?")
    assert (await gateway.delivered_to(ALEX, 2))[1] == "Did you get it?"
    assert all(body.strip() for body in gateway.carrier.raw_bodies_to(ALEX))
    assert gateway.carrier.media.started == []
    inbound = await db.fetch("SELECT body, media_urls FROM messages WHERE direction = 'inbound' ORDER BY id")
    assert [(r["body"], r["media_urls"]) for r in inbound][:1] == [("", [PICTURE["MediaUrl0"]])]
    copy = await db.fetchrow("SELECT body, status, status_reason FROM messages WHERE kind = 'relay' AND body LIKE '(%'")
    assert tuple(copy) == ("(picture)", "canceled", "media_refused")
    assert await db.fetchval("SELECT count(*) FROM messages WHERE direction = 'outbound' AND btrim(body) = ''") == 0
    assert len(await gateway.messages(conversation["id"])) == 6  # notification, picture, its copy, notice, text, relay


@pytest.mark.parametrize("body", ["#{code}", "#{code}   ", "   ", "#{code}:"])
async def test_a_text_empty_once_its_code_is_stripped_is_not_relayed(gateway, db, body):
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    assert (await gateway.sms(ALEX, PROXY, body.format(code=conversation["code"])))[0] == 200
    await gateway.sms(ALEX, PROXY, "after")
    assert await gateway.delivered_to(PAT) == ["after"]  # the empty one was never queued
    assert await db.fetchval("SELECT count(*) FROM messages WHERE to_number = $1", PAT) == 1


@pytest.mark.parametrize("sender", ["12345", "262966", "ACME", "Acme Bank", "+1555", "+999123456789"])
@pytest.mark.parametrize("body", ["hello", "HELP", "STOP", "start", "aide"])
async def test_no_reply_to_a_sender_that_cannot_take_a_text(gateway, db, sender, body):
    """Short codes, alphanumeric sender IDs and numbers that are not valid phones get nothing back: no
    auto-reply, no help, no keyword confirmation. Their message is stored."""
    await gateway.community()
    assert (await gateway.sms(sender, PROXY, body))[0] == 200
    await gateway.sms(PAT, PROXY, "hello")  # a phone that can: its auto-reply shows the queue has run
    await gateway.delivered_to(PAT)
    assert [m["To"] for m in gateway.carrier.sent] == [PAT]
    stored = await db.fetch("SELECT from_number, body FROM messages WHERE direction = 'inbound' ORDER BY id")
    assert [(r["from_number"], r["body"]) for r in stored][0] == (sender, body)
    assert await db.fetchval("SELECT count(*) FROM messages WHERE direction = 'outbound'") == 1

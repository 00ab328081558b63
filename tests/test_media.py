"""Pictures (issue 14), end to end: a phone's MMS through the carrier's signed webhook, its media fetched from the
carrier fake (behind a redirect, with the carrier's credentials), kept in Postgres, relayed as an MMS from the
gateway's own signed URLs, or as a link where MMS cannot go; refusals told once; the carrier's copy deleted."""

import asyncio
import base64
import hashlib
import time

import pytest

from gateway.keys import MEDIA
from gateway.media import signing
from tests.fakes import ACCOUNT_SID
from tests.helpers import ALEX, PAT, PROXY, wait_for

FAST = {"poll_interval": 0.05, "retry_base": 0.05}
UK = "+447400123456"  # a UK mobile


def picture(n: int, size: int = 2000) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + bytes([n]) * size


def mms(*attachments: tuple[str, str]) -> dict:
    """The extra form fields of a Twilio MMS webhook: NumMedia, MediaUrlN, MediaContentTypeN."""
    extra = {"NumMedia": str(len(attachments))}
    for n, (url, content_type) in enumerate(attachments):
        extra |= {f"MediaUrl{n}": url, f"MediaContentType{n}": content_type}
    return extra


async def _start(start_gateway, **media):
    gateway = await start_gateway(media={**FAST, **media})
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    return gateway, conversation


async def _get(gateway, url: str) -> tuple[int, bytes, dict]:
    async with gateway.client.get(url.removeprefix(gateway.config.public_url)) as response:
        return response.status, await response.read(), dict(response.headers)


async def _sent_with_media(gateway, phone: str):
    found = [m for m in gateway.carrier.sent if m["To"] == phone and m.get("MediaUrl")]
    return found[-1] if found else None


async def test_three_pictures_in_one_mms_are_relayed_as_three(start_gateway, db):
    gateway, conversation = await _start(start_gateway)
    files = [picture(n) for n in range(3)]
    urls = [gateway.carrier.media.add(content, "image/png") for content in files]
    assert (await gateway.sms(PAT, PROXY, "The lease, pages 1-3", extra=mms(*urls)))[0] == 200
    sent = await wait_for(lambda: _sent_with_media(gateway, ALEX), what="the MMS to Alex")
    assert sent["Body"] == "The lease, pages 1-3" and len(sent["MediaUrl"]) == 3
    # The carrier fetches each from the gateway's own signed URL: the same bytes, in the sender's order.
    for url, content in zip(sent["MediaUrl"], files):
        assert url.startswith(gateway.config.public_url + "/media/") and ACCOUNT_SID not in url
        status, body, headers = await _get(gateway, url)
        assert (status, body, headers["Content-Type"]) == (200, content, "image/png")
    # Kept with their hashes; the carrier was asked with its credentials and its copies are deleted.
    rows = await db.fetch("SELECT state, sha256, size, source_url FROM message_media ORDER BY position")
    assert [(r["state"], r["sha256"], r["size"], r["source_url"]) for r in rows] == [
        ("stored", hashlib.sha256(c).hexdigest(), len(c), None) for c in files]
    await wait_for(lambda: _now(len(gateway.carrier.media.deleted) == 3), what="the carrier's copies deleted")
    assert gateway.carrier.media.unauthorized == 0
    assert gateway.metrics.mms._value.get() == 1
    # The API shows them on the inbound message and on its relayed copy.
    inbound = await db.fetchval("SELECT id FROM messages WHERE direction = 'inbound' AND body LIKE 'The lease%'")
    shown = (await gateway.message(inbound))["media"]
    assert [(m["position"], m["state"], m["sha256"]) for m in shown] == [
        (n + 1, "stored", hashlib.sha256(c).hexdigest()) for n, c in enumerate(files)]
    assert (await _get(gateway, shown[0]["url"]))[1] == files[0]
    status, listed = await gateway.call("GET", f"/v1/messages/{inbound}/media")
    assert status == 200 and len(listed["media"]) == 3


async def _now(value):
    return value


async def test_a_picture_alone_is_relayed_with_a_word_for_it(start_gateway):
    gateway, _ = await _start(start_gateway)
    url = gateway.carrier.media.add(picture(1), "image/jpeg")
    await gateway.sms(PAT, PROXY, "", extra=mms(url))
    sent = await wait_for(lambda: _sent_with_media(gateway, ALEX), what="the MMS to Alex")
    assert sent["Body"] == "(picture)" and len(sent["MediaUrl"]) == 1


async def test_a_too_large_file_is_refused_with_one_notice(start_gateway, db):
    gateway, _ = await _start(start_gateway, max_file_bytes=5000, max_message_bytes=8000)
    small, large = gateway.carrier.media.add(picture(1), "image/png"), gateway.carrier.media.add(picture(2, 9000))
    video = gateway.carrier.media.add(b"x" * 100, "application/x-msdownload")
    await gateway.sms(PAT, PROXY, "Photos of the flat", extra=mms(small, large, video))
    sent = await wait_for(lambda: _sent_with_media(gateway, ALEX), what="the MMS to Alex")
    assert len(sent["MediaUrl"]) == 1
    notice = await gateway.delivered_to(PAT)
    assert notice == ["2 of your 3 pictures weren't relayed: #2 9 KB is over the 5 KB limit; "
                      "#3 application/x-msdownload can't be sent."]
    assert "http" not in notice[0]
    states = await db.fetch("SELECT state, refusal, content FROM message_media ORDER BY position")
    assert [(r["state"], r["refusal"]) for r in states] == [
        ("stored", None), ("refused", "too_large"), ("refused", "type_not_allowed")]
    assert states[1]["content"] is None and states[2]["content"] is None


async def test_a_recipient_outside_the_us_gets_a_link_to_a_signed_page(start_gateway):
    gateway = await start_gateway(media=FAST)
    community = await gateway.community(countries=["US", "GB"])
    await gateway.conversation(community["id"], advocate=(UK, "Alex"))
    await gateway.delivered_to(UK)
    files = [picture(1), picture(2)]
    await gateway.sms(PAT, PROXY, "Here it is", extra=mms(*(gateway.carrier.media.add(c, "image/png")
                                                               for c in files)))
    bodies = await gateway.delivered_to(UK, 2)
    text, _, link = bodies[1].partition("\n")
    assert text == "Here it is" and link.startswith(gateway.config.public_url + "/m/")
    assert not [m for m in gateway.carrier.sent if m.get("MediaUrl")]
    assert gateway.metrics.media_links._value.get() == 1
    status, page, headers = await _get(gateway, link)
    assert status == 200 and headers["Referrer-Policy"] == "no-referrer"
    sources = [part.split('"', 1)[0] for part in page.decode().split('<img src="')[1:]]
    assert len(sources) == 2
    assert [(await _get(gateway, src.replace("&amp;", "&")))[1] for src in sources] == files


async def test_a_fetch_that_fails_is_tried_again_then_succeeds(start_gateway, db):
    gateway, _ = await _start(start_gateway)
    url = gateway.carrier.media.add(picture(7), "image/png", failures=[500, 404])
    await gateway.sms(PAT, PROXY, "Try this", extra=mms(url))
    sent = await wait_for(lambda: _sent_with_media(gateway, ALEX), what="the MMS to Alex")
    assert len(sent["MediaUrl"]) == 1
    assert await db.fetchval("SELECT attempts FROM message_media") == 3
    assert gateway.metrics.media.labels("retried")._value.get() == 2


async def test_a_fetch_that_never_succeeds_is_given_up_and_the_text_still_goes(start_gateway, db):
    gateway, _ = await _start(start_gateway, fetch_attempts=2)
    url = gateway.carrier.media.add(picture(7), "image/png", failures=[500, 500, 500])
    await gateway.sms(PAT, PROXY, "And this", extra=mms(url))
    assert (await gateway.delivered_to(ALEX, 2))[1] == "And this"
    assert await gateway.delivered_to(PAT) == ["Your picture wasn't relayed: it could not be received."]
    assert not [m for m in gateway.carrier.sent if m.get("MediaUrl")]
    assert await db.fetchval("SELECT state FROM message_media") == "failed"
    assert gateway.carrier.media.deleted == []  # never fetched: nothing of ours to delete


async def test_the_text_is_stored_at_once_and_its_copies_wait_for_the_media(start_gateway, db):
    gateway, _ = await _start(start_gateway)
    url = gateway.carrier.media.add(picture(1), "image/png", delays=[1.5])
    started = time.monotonic()
    assert (await gateway.sms(PAT, PROXY, "Slow one", extra=mms(url)))[0] == 200
    assert time.monotonic() - started < 1.0  # the webhook's answer does not wait for the fetch
    held = await db.fetch("SELECT status, status_reason FROM messages WHERE kind = 'relay' AND body = 'Slow one'")
    assert [(r["status"], r["status_reason"]) for r in held] == [("held", "awaiting_media")]
    sent = await wait_for(lambda: _sent_with_media(gateway, ALEX), what="the MMS to Alex")
    assert sent["Body"] == "Slow one"


async def test_signed_urls_refuse_a_tampered_or_expired_signature(start_gateway):
    gateway, _ = await _start(start_gateway)
    url = gateway.carrier.media.add(picture(1), "image/png")
    await gateway.sms(PAT, PROXY, "x", extra=mms(url))
    sent = await wait_for(lambda: _sent_with_media(gateway, ALEX), what="the MMS to Alex")
    good = sent["MediaUrl"][0]
    base, media_id, expires, signature = good.rsplit("/", 3)
    forged = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for tampered in (f"{base}/{media_id}/{expires}/{forged}", f"{base}/{int(media_id) + 1}/{expires}/{signature}",
                     f"{base}/{media_id}/{'z' + expires}/{signature}"):
        status, body, _ = await _get(gateway, tampered)
        assert status == 403 and b'"code": "forbidden"' in body
    key = gateway.client.app[MEDIA].key
    expired = signing.sign(key, gateway.config.public_url, signing.FILE, int(media_id), -10)
    status, body, _ = await _get(gateway, expired)
    assert status == 410 and b'"code": "gone"' in body
    assert (await _get(gateway, good))[0] == 200


@pytest.mark.parametrize("ended", ["closed", "expired"])
async def test_retention_deletes_media_after_its_conversation_ended(start_gateway, db, ended):
    gateway, conversation = await _start(start_gateway, retention_days=30)
    url = gateway.carrier.media.add(picture(1), "image/png")
    await gateway.sms(PAT, PROXY, "keep me a while", extra=mms(url))
    sent = await wait_for(lambda: _sent_with_media(gateway, ALEX), what="the MMS to Alex")
    if ended == "closed":
        assert (await gateway.call("POST", f"/v1/conversations/{conversation['id']}/close"))[0] == 200
    else:  # idle past its community's inactivity_days: the expiry task ends it
        await db.execute("UPDATE conversations SET last_activity_at = now() - interval '40 days'")
        await wait_for(lambda: _status(db, "expired"), what="the conversation expired")
    assert await db.fetchval("SELECT state FROM message_media") == "stored"  # ended today: kept for now
    await asyncio.sleep(0.5)  # retention passes run meanwhile (tasks.expiry_interval) and keep it
    assert await db.fetchval("SELECT state FROM message_media") == "stored"
    await db.execute("UPDATE conversations SET closed_at = now() - interval '31 days'")

    async def deleted():
        return await db.fetchval("SELECT state = 'deleted' AND content IS NULL FROM message_media")
    await wait_for(deleted, what="the media deleted by retention")
    assert (await _get(gateway, sent["MediaUrl"][0]))[0] == 410


async def _status(db, status):
    return await db.fetchval("SELECT status FROM conversations") == status


async def test_the_sandbox_takes_pictures_for_the_walk_through(start_gateway):
    """README "Pictures (MMS)": a picture sent as the sandbox's phone reaches the other phone's screen as an MMS."""
    gateway = await start_gateway("sandbox", media=FAST)
    community = await gateway.community()
    await gateway.conversation(community["id"])
    content = picture(5)
    status, body = await gateway.call("POST", "/sandbox/inbound", {
        "from": PAT, "to": PROXY, "body": "", "media": [
            {"content_type": "image/png", "data": base64.b64encode(content).decode()}]})
    assert (status, body["outcome"]) == (200, "awaiting_media"), body

    async def screen():
        _, shown = await gateway.call("GET", f"/sandbox/messages?phone={ALEX.replace('+', '%2B')}")
        return [m for m in shown["messages"] if m["media_urls"]]
    [mms_shown] = await wait_for(screen, what="the MMS on Alex's screen")
    assert mms_shown["body"] == "(picture)"
    assert (await _get(gateway, mms_shown["media_urls"][0]))[1] == content
    # The sandbox's own copy (the "carrier's") is deleted once the gateway keeps the picture.
    [inbound] = [m for m in await gateway.messages(1) if m["direction"] == "inbound"]
    assert (await _get(gateway, inbound["media_urls"][0]))[0] == 404
    status, refused = await gateway.call("POST", "/sandbox/inbound", {
        "from": PAT, "to": PROXY, "body": "", "media": [{"content_type": "image/png", "data": "not base64!"}]})
    assert (status, refused["error"]["code"]) == (422, "invalid_field")


async def test_the_platform_sends_pictures_it_uploaded(start_gateway, db):
    gateway, conversation = await _start(start_gateway, max_file_bytes=5000)
    files = [picture(1), picture(2)]
    uploaded = []
    for content in files:
        status, body = await gateway.call("POST", "/v1/media", {
            "community_id": conversation["community_id"], "content_type": "image/png",
            "data": base64.b64encode(content).decode()})
        assert status == 201, body
        assert body["sha256"] == hashlib.sha256(content).hexdigest() and body["size"] == len(content)
        uploaded.append(body["id"])
    status, message = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                                         {"from": "advocate", "body": "Your keys", "media": uploaded[::-1]})
    assert status == 201, message
    sent = await wait_for(lambda: _sent_with_media(gateway, PAT), what="the MMS to Pat")
    assert [(await _get(gateway, url))[1] for url in sent["MediaUrl"]] == files[::-1]  # in the order named
    shown = (await gateway.message(message["id"]))["media"]
    assert [m["id"] for m in shown] == uploaded[::-1]
    # Used once: naming it again, or another community's, or none at all, stores nothing.
    before = await db.fetchval("SELECT count(*) FROM messages")
    for media in ([uploaded[0]], [999]):
        status, body = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                                          {"from": "advocate", "body": "Again", "media": media})
        assert (status, body["error"]["code"]) == (422, "invalid_field"), body
    assert await db.fetchval("SELECT count(*) FROM messages") == before


@pytest.mark.parametrize("upload, status, code", [
    ({"content_type": "image/png", "data": "not base64!"}, 422, "invalid_field"),
    ({"content_type": "application/x-msdownload", "data": base64.b64encode(b"MZ").decode()}, 422, "invalid_field"),
    ({"content_type": "image/png", "data": base64.b64encode(b"x" * 6000).decode()}, 422, "invalid_field"),
    ({"content_type": "image/png", "data": base64.b64encode(b"x" * 60000).decode()}, 413, "body_too_large"),
    ({"content_type": "image", "data": "eA=="}, 422, "invalid_field"),
    ({"community_id": 999, "content_type": "image/png", "data": "eA=="}, 404, "community_not_found"),
])
async def test_an_upload_is_refused_whole(start_gateway, db, upload, status, code):
    gateway, conversation = await _start(start_gateway, max_file_bytes=5000)
    answer, body = await gateway.call("POST", "/v1/media", {"community_id": conversation["community_id"], **upload})
    assert (answer, body["error"]["code"]) == (status, code), body
    assert await db.fetchval("SELECT count(*) FROM message_media") == 0


async def test_an_attachment_whose_storing_always_crashes_is_given_up_and_the_text_still_goes(start_gateway, db):
    """A crash counts as a try: Postgres refusing to store the file on every try (a test trigger) ends as a failed
    attachment after media.fetch_attempts, and the text goes without it, rather than waiting for ever."""
    gateway, _ = await _start(start_gateway, fetch_attempts=2)
    await db.execute("CREATE FUNCTION test_refuse_store() RETURNS trigger LANGUAGE plpgsql AS "
                     "$$ BEGIN RAISE EXCEPTION 'refused by a test trigger'; END $$")
    await db.execute("CREATE TRIGGER test_refuse_store BEFORE UPDATE ON message_media FOR EACH ROW "
                     "WHEN (NEW.state = 'stored') EXECUTE FUNCTION test_refuse_store()")
    try:
        await gateway.sms(PAT, PROXY, "And this", extra=mms(gateway.carrier.media.add(picture(8), "image/png")))
        assert (await gateway.delivered_to(ALEX, 2))[1] == "And this"
        assert await gateway.delivered_to(PAT) == ["Your picture wasn't relayed: it could not be received."]
        assert await db.fetchrow("SELECT state, attempts FROM message_media") == ("failed", 2)
    finally:
        await db.execute("DROP TRIGGER test_refuse_store ON message_media")
        await db.execute("DROP FUNCTION test_refuse_store()")


async def test_a_file_whose_bytes_are_not_its_type_is_refused(start_gateway, db):
    """The carrier's file store answers "image/jpeg" with an HTML page (a sign-in, an error): refused as a type not
    allowed, never stored nor relayed, and its sender told; an upload likewise answers 422."""
    gateway, _ = await _start(start_gateway)
    page = gateway.carrier.media.add(b"<!doctype html><html><body>Sign in</body></html>", "image/jpeg")
    await gateway.sms(PAT, PROXY, "The photo", extra=mms(page))
    assert await gateway.delivered_to(PAT) == ["Your picture wasn't relayed: image/jpeg can't be sent."]
    row = await db.fetchrow("SELECT state, refusal, content FROM message_media")
    assert (row["state"], row["refusal"], row["content"]) == ("refused", "type_not_allowed", None)
    status, body = await gateway.call("POST", "/v1/media", {"community_id": 1, "content_type": "image/png",
                                                            "data": base64.b64encode(b"<html></html>").decode()})
    assert (status, body["error"]["code"]) == (422, "invalid_field")

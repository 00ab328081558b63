"""WhatsApp media within WhatsApp's limits (issue 14): an attachment is held to the limits of the channel it came
on (WhatsApp's 16 MB files and 5 MB images, its types; MMS's 5 MB); a picture to a WhatsApp participant goes as
WhatsApp media (one image or video, within WhatsApp's limits), else as the link; an SMS participant gets as an MMS
only what is within MMS's limits, else the link (a WhatsApp video beyond them)."""

from tests.helpers import ALEX, PROXY, wait_for
from tests.test_media import FAST, mms, picture
from tests.test_whatsapp import WA_PAT, _setup, whatsapp_sent

# Small limits, so that the files stay small: MMS 5 KB a file; WhatsApp 20 KB a file and 8 KB an image.
SMALL = {"media": {**FAST, "max_file_bytes": 5000, "max_message_bytes": 5000},
         "whatsapp": {"media_max_bytes": 20000, "image_max_bytes": 8000}}


async def _async(value):
    return value


async def _window_open(gateway):
    _, conversation = await _setup(gateway, opted_in=True)
    await gateway.sms(WA_PAT, PROXY, "Hello")
    await gateway.delivered_to(ALEX, 2)
    return conversation


async def _to_alex_with(gateway, what: str, count: int = 1) -> list[dict]:
    async def found():
        sent = [m for m in gateway.carrier.sent if m["To"] == ALEX and m.get("Body", "").startswith(what)]
        return sent if len(sent) >= count else None
    return await wait_for(found, what=f"{what!r} to Alex")


async def test_a_picture_goes_to_whatsapp_as_whatsapp_media_and_comes_from_it_as_an_mms(start_gateway):
    gateway = await start_gateway(media=FAST)
    await _window_open(gateway)
    await gateway.sms(ALEX, PROXY, "The lease", extra=mms(gateway.carrier.media.add(picture(1), "image/png")))
    await wait_for(lambda: _async(len(whatsapp_sent(gateway)) == 1), what="the picture on WhatsApp")
    [sent] = whatsapp_sent(gateway)
    [url] = sent["MediaUrl"]
    assert sent["Body"] == "The lease" and url.startswith(gateway.config.public_url + "/media/")
    async with gateway.client.get(url.removeprefix(gateway.config.public_url)) as answer:
        assert (answer.status, await answer.read()) == (200, picture(1))

    await gateway.sms(WA_PAT, PROXY, "My ID", extra=mms(gateway.carrier.media.add(picture(2), "image/png")))
    [to_alex] = await _to_alex_with(gateway, "My ID")
    assert to_alex["MediaUrl"] and to_alex["From"] == PROXY


async def test_several_pictures_or_a_document_go_to_whatsapp_as_the_link(start_gateway):
    """A WhatsApp message holds one attachment, and only images and videos show the text as their caption."""
    gateway = await start_gateway(media=FAST)
    await _window_open(gateway)
    two = [gateway.carrier.media.add(picture(n), "image/png") for n in (1, 2)]
    await gateway.sms(ALEX, PROXY, "Both sides", extra=mms(*two))
    await gateway.sms(ALEX, PROXY, "The form", extra=mms(gateway.carrier.media.add(b"%PDF-1.4 x", "application/pdf")))
    await wait_for(lambda: _async(len(whatsapp_sent(gateway)) == 2), what="both texts on WhatsApp")
    # Each text's pictures are fetched on their own: the two may go in either order.
    sent = sorted((m["Body"].partition("\n"), m.get("MediaUrl")) for m in whatsapp_sent(gateway))
    assert [(body, link.startswith(gateway.config.public_url + "/m/"), media) for (body, _, link), media in sent] == [
        ("Both sides", True, None), ("The form", True, None)]


async def test_a_whatsapp_video_beyond_mms_limits_is_kept_and_reaches_sms_as_the_link(start_gateway, db):
    """12 KB of video from WhatsApp: within WhatsApp's 20 KB, beyond MMS's 5 KB. Kept; the SMS participant gets the
    link, not an MMS the carrier would refuse; the sender is told nothing (nothing was refused)."""
    gateway = await start_gateway(**SMALL)
    conversation = await _window_open(gateway)
    video = gateway.carrier.media.add(b"\x00\x00\x00\x18ftypmp42" + b"v" * 12000, "video/mp4")
    await gateway.sms(WA_PAT, PROXY, "The tour", extra=mms(video))
    [to_alex] = await _to_alex_with(gateway, "The tour")
    assert not to_alex.get("MediaUrl") and "/m/" in to_alex["Body"]
    row = await db.fetchrow("SELECT state, channel, size FROM message_media")
    assert (row["state"], row["channel"], row["size"]) == ("stored", "whatsapp", 12012)
    assert [m for m in await gateway.messages(conversation["id"]) if m["kind"] == "help"] == []


async def test_each_channel_holds_its_attachments_to_its_own_limits(start_gateway, db):
    """An MMS of 12 KB is over MMS's 5 KB; a WhatsApp image of 9 KB is over WhatsApp's 8 KB for images (its
    16 MB default is for other files): each refused, and its sender told the limit of its own channel."""
    gateway = await start_gateway(**SMALL)
    await _window_open(gateway)
    await gateway.sms(ALEX, PROXY, "Big MMS", extra=mms(gateway.carrier.media.add(picture(3, 12000), "image/png")))
    assert (await gateway.delivered_to(ALEX, 3))[2] == "Your picture wasn't relayed: 12 KB is over the 5 KB limit."
    await gateway.sms(WA_PAT, PROXY, "Big photo", extra=mms(gateway.carrier.media.add(picture(4, 9000), "image/png")))

    async def notice():
        found = [m["Body"] for m in whatsapp_sent(gateway) if m["Body"].startswith("Your picture")]
        return found or None
    assert await wait_for(notice, what="the notice on WhatsApp") == [
        "Your picture wasn't relayed: 9 KB is over the 8 KB limit."]
    rows = await db.fetch("SELECT channel, state, refusal FROM message_media ORDER BY id")
    assert [tuple(r) for r in rows] == [("sms", "refused", "too_large"), ("whatsapp", "refused", "too_large")]


async def test_each_message_says_what_it_counts_as(start_gateway):
    """usage_unit on the API's messages: a WhatsApp message, an MMS, SMS segments (a picture sent as a link is an
    SMS); none for an inbound message."""
    gateway = await start_gateway(media=FAST)
    conversation = await _window_open(gateway)
    await gateway.sms(WA_PAT, PROXY, "My ID", extra=mms(gateway.carrier.media.add(picture(2), "image/png")))
    await _to_alex_with(gateway, "My ID")
    await gateway.sms(ALEX, PROXY, "Thanks")
    await wait_for(lambda: _async(any(m["Body"] == "Thanks" for m in whatsapp_sent(gateway))), what="Thanks sent")

    async def units():
        found = {(m["direction"], m["body"].rsplit(": ", 1)[-1]): m.get("usage_unit")
                 for m in await gateway.messages(conversation["id"]) if m["status"] not in ("queued", "submitting")}
        # Every message this test reads, recorded past the send (six of any others could come first).
        wanted = {("outbound", "Thanks"), ("outbound", "My ID"), ("inbound", "Thanks"), ("inbound", "My ID")}
        return found if wanted <= set(found) and "sms_segment" in found.values() else None
    found = await wait_for(units, what="the messages sent")
    assert found[("outbound", "Thanks")] == "whatsapp"
    assert found[("outbound", "My ID")] == "mms"
    assert found[("inbound", "Thanks")] is None and found[("inbound", "My ID")] is None
    assert "sms_segment" in found.values()  # Alex's notification


async def test_the_sandbox_shows_a_picture_sent_to_whatsapp_as_whatsapp_media(start_gateway):
    """README "WhatsApp": the walk-through's picture reaches the sandbox's WhatsApp phone as WhatsApp media."""
    import base64
    from tests.test_whatsapp import _setup_sandbox
    gateway = await start_gateway("sandbox", media=FAST)
    await _setup_sandbox(gateway)
    await gateway.call("POST", "/sandbox/inbound", {"from": WA_PAT, "to": PROXY, "body": "Hi there"})  # window open
    status, body = await gateway.call("POST", "/sandbox/inbound", {"from": ALEX, "to": PROXY, "body": "The lease",
                                      "media": [{"content_type": "image/png",
                                                 "data": base64.b64encode(picture(7)).decode()}]})
    assert status == 200, body

    async def shown():
        _, answer = await gateway.call("GET", "/sandbox/messages?phone=%2B" + WA_PAT.rpartition("+")[2])
        return [m for m in answer["messages"] if m["media_urls"]]
    [message] = await wait_for(shown, what="the picture on the WhatsApp phone")
    assert (message["channel"], message["body"]) == ("whatsapp", "The lease")
    async with gateway.client.get(message["media_urls"][0].removeprefix(gateway.config.public_url)) as answer:
        assert await answer.read() == picture(7)

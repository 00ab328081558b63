"""The pictures' pure rules (gateway/media/rules.py) and signed URLs (gateway/media/signing.py), as tables."""

import pytest

from gateway.config_channels import MediaSettings, WhatsAppSettings
from gateway.media import rules, signing
from gateway.relay import segments
from gateway.vocabulary import Channel
from gateway.vocabulary import MediaRefusal as R

LIMITS = rules.Limits(rules.parse_types("image/*, video/mp4,TEXT/VCARD"), 5_000_000, 8_000_000)


@pytest.mark.parametrize("body, count, expected", [
    ("Hello", 2, "Hello"), ("", 1, "(picture)"), ("   ", 3, "(3 pictures)"), ("", 0, ""),
])
def test_caption(body, count, expected):
    assert rules.caption(body, count) == expected


@pytest.mark.parametrize("content_type, size, so_far, expected", [
    ("image/png", 1000, 0, None),
    ("image/heic", 1000, 0, None),  # image/* allows every image
    ("video/mp4", 1000, 0, None),
    ("text/vcard", 10, 0, None),  # the setting is read in lower case
    ("video/quicktime", 1000, 0, R.TYPE_NOT_ALLOWED),
    ("application/x-msdownload", 10, 0, R.TYPE_NOT_ALLOWED),
    ("", 10, 0, R.TYPE_NOT_ALLOWED),
    ("image/jpeg", 5_000_001, 0, R.TOO_LARGE),
    ("image/jpeg", 5_000_000, 0, None),
    ("image/jpeg", 4_000_000, 4_000_001, R.MESSAGE_TOO_LARGE),
    ("image/jpeg", 4_000_000, 4_000_000, None),
])
def test_refusal(content_type, size, so_far, expected):
    assert rules.refusal(content_type, size, so_far, LIMITS) == expected


@pytest.mark.parametrize("header, expected", [
    ("image/JPEG; charset=binary", "image/jpeg"), (None, ""), ("  image/png ", "image/png"),
])
def test_media_type(header, expected):
    assert rules.media_type(header) == expected


@pytest.mark.parametrize("refused, total, expected", [
    ([], 2, ""),
    ([rules.Refused(1, R.TOO_LARGE, "image/png", 6_200_000)], 1,
     "Your picture wasn't relayed: 6.2 MB is over the 5.0 MB limit."),
    ([rules.Refused(3, R.FETCH_FAILED, None, None), rules.Refused(2, R.TYPE_NOT_ALLOWED, "video/avi", 10)], 3,
     "2 of your 3 pictures weren't relayed: #2 video/avi can't be sent; #3 it could not be received."),
    ([rules.Refused(2, R.MESSAGE_TOO_LARGE, "image/png", 10)], 2,
     "1 of your 2 pictures wasn't relayed: #2 the message's pictures are over 8.0 MB together."),
])
def test_refusal_notice_names_what_and_why_without_a_url(refused, total, expected):
    assert rules.refusal_notice(refused, total, LIMITS) == expected


@pytest.mark.parametrize("to, sends_mms, expected", [
    ("+14155552671", True, True), ("+16135550123", True, True),  # US, Canada
    ("+447400123456", True, False), ("+14155552671", False, False),
])
def test_takes_mms(to, sends_mms, expected):
    assert rules.takes_mms(to, sends_mms) == expected


@pytest.mark.parametrize("url, hosts, expected", [
    ("https://api.twilio.com/2010-04-01/x", ("twilio.com",), True),
    ("https://twilio.com/x", ("twilio.com",), True),
    ("https://eviltwilio.com/x", ("twilio.com",), False),
    ("https://twilio.com.evil.org/x", ("twilio.com",), False),
    ("http://169.254.169.254/latest", ("twilio.com",), False),
    ("file:///etc/passwd", ("twilio.com",), False),
    ("http://127.0.0.1:8080/m", ("127.0.0.1",), True),
    ("https://api.twilio.com/x", (), False),
    ("http://[127.0.0.1/x", ("127.0.0.1",), False),  # urlsplit refuses it: not fetched, no crash
])
def test_may_fetch(url, hosts, expected):
    assert rules.may_fetch(url, hosts) == expected


@pytest.mark.parametrize("body", ["short", "x" * 1600, "😀" * 800, "word " * 400])
def test_with_link_always_fits_and_keeps_the_link(body):
    link = "https://gw.example/m/12/abc/" + "s" * 22
    out = rules.with_link(body, link)
    assert out.endswith("\n" + link) and segments.length(out) <= segments.MAX_BODY
    assert out.startswith(body[:10].rstrip())


KEY = signing.media_key(b"k" * 32)


@pytest.mark.parametrize("change, expected", [
    (lambda i, e, s: (i, e, s), signing.Check.OK),
    (lambda i, e, s: (i + 1, e, s), signing.Check.FORGED),
    (lambda i, e, s: (i, e + "0", s), signing.Check.FORGED),
    (lambda i, e, s: (i, e, s[:-1] + ("A" if s[-1] != "A" else "B")), signing.Check.FORGED),
    (lambda i, e, s: (i, e, ""), signing.Check.FORGED),
])
def test_signed_urls_check_what_they_name(change, expected):
    url = signing.sign(KEY, "https://gw.example", signing.FILE, 42, 3600, now=1_000_000)
    _, _, _, _, item, expires, signature = url.split("/")
    assert signing.check(KEY, signing.FILE, *change(int(item), expires, signature), now=1_000_000) == expected


def test_a_signed_url_expires_and_names_its_kind():
    url = signing.sign(KEY, "", signing.PAGE, 7, 60, now=1_000_000)
    _, kind, item, expires, signature = url.split("/")
    assert kind == signing.PAGE
    assert signing.check(KEY, signing.PAGE, 7, expires, signature, now=1_000_060) == signing.Check.OK
    assert signing.check(KEY, signing.PAGE, 7, expires, signature, now=1_000_061) == signing.Check.EXPIRED
    assert signing.check(KEY, signing.FILE, 7, expires, signature, now=1_000_000) == signing.Check.FORGED
    assert signing.check(signing.media_key(b"other"), signing.PAGE, 7, expires, signature,
                         now=1_000_000) == signing.Check.FORGED


# --- Each channel's limits (issue 14: WhatsApp's are not MMS's) -----------------------------------------------------

WHATSAPP = rules.channel_limits(MediaSettings(), WhatsAppSettings())[Channel.WHATSAPP]
MMS = rules.channel_limits(MediaSettings(), WhatsAppSettings())[Channel.SMS]
MB = 1024 * 1024


@pytest.mark.parametrize("limits, content_type, size, expected", [
    (WHATSAPP, "image/jpeg", 5 * MB, None),
    (WHATSAPP, "image/jpeg", 5 * MB + 1, R.TOO_LARGE),  # WhatsApp's images: 5 MB
    (WHATSAPP, "video/mp4", 16 * MB, None),  # its files: 16 MB
    (WHATSAPP, "video/mp4", 16 * MB + 1, R.TOO_LARGE),
    (WHATSAPP, "audio/ogg", 6 * MB, None),
    (WHATSAPP, "application/pdf", 10 * MB, None),
    (WHATSAPP, "image/gif", 1000, R.TYPE_NOT_ALLOWED),  # not a WhatsApp image type
    (WHATSAPP, "video/quicktime", 1000, R.TYPE_NOT_ALLOWED),
    (MMS, "video/mp4", 6 * MB, R.TOO_LARGE),  # MMS: 5 MB, whatever the type
    (MMS, "image/gif", 1000, None),
])
def test_each_channel_has_its_limits(limits, content_type, size, expected):
    assert rules.refusal(content_type, size, 0, limits) == expected


@pytest.mark.parametrize("items, expected", [
    ([("image/png", 1000)], True),
    ([("image/png", 3_000_000), ("image/png", 3_000_000)], False),  # over the message's 5 MB together
    ([("video/mp4", 12 * MB)], False),  # a WhatsApp video: too large for MMS (the link instead)
    ([("audio/aac", 1000)], False),  # not an MMS type
    ([], True),
])
def test_fits_mms(items, expected):
    assert rules.fits(items, MMS) is expected


@pytest.mark.parametrize("items, carrier_sends, expected", [
    ([("image/jpeg", 1000)], True, True),
    ([("video/mp4", 12 * MB)], True, True),
    ([("image/jpeg", 1000)], False, False),  # a carrier that sends no WhatsApp media here
    ([("image/jpeg", 1000), ("image/jpeg", 1000)], True, False),  # a WhatsApp message holds one
    ([("application/pdf", 1000)], True, False),  # no caption for the text: the link
    ([("audio/mpeg", 1000)], True, False),
    ([("image/gif", 1000)], True, False),  # not a WhatsApp type
    ([("image/png", 6 * MB)], True, False),  # over WhatsApp's 5 MB for images
])
def test_as_whatsapp_media(items, carrier_sends, expected):
    assert rules.as_whatsapp_media(items, carrier_sends, WHATSAPP) is expected


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"x" * 100
PNG = b"\x89PNG\r\n\x1a\n" + b"x" * 100
HTML = b"<!doctype html><html><body>Sign in</body></html>"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"v" * 100
PDF = b"%PDF-1.4\n" + b"x" * 100


@pytest.mark.parametrize("content_type, content, disagree", [
    ("image/jpeg", JPEG, False),
    ("image/jpeg", PNG, False),  # an image all the same (a store's wrong subtype is no harm)
    ("image/jpeg", HTML, True),  # the HTML page of a file store's error or sign-in
    ("image/png", b"", True),
    ("image/heic", b"\x00\x01 an unusual codec", False),  # no signature known: not refused for that
    ("image/png", PDF, True),
    ("video/mp4", MP4, False),
    ("audio/mp4", MP4, False),  # audio and video share containers
    ("video/mp4", PDF, True),
    ("video/3gpp", b"\x00\x00\x00\x14ftyp3gp4" + b"\x00" * 100, False),
    ("application/pdf", PDF, False),
    ("application/pdf", HTML, True),
    ("application/pdf", JPEG, True),
    ("text/vcard", b"BEGIN:VCARD\r\nEND:VCARD\r\n", False),
    ("text/vcard", JPEG, False),  # no signature to check text against
])
def test_bytes_disagree(content_type, content, disagree):
    assert rules.bytes_disagree(content_type, content) is disagree

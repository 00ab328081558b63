"""A newcomer's findings on issue 14 (pictures), tried from the README alone: each a reproduction over HTTP on real
servers (the Twilio fake serving the media), written before its fix."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from aiohttp import web

from gateway.config import from_dict
from gateway.media import rules
from gateway.ops import logs
from tests.fakes import unwrap
from tests.helpers import ALEX, PAT, PROXY, PROXY_2, SAM, TOKEN, wait_for
from tests.test_groups import KIM, LEE, open_group
from tests.test_media import FAST, UK, _get, _sent_with_media, _start, mms, picture
from tests.test_teams import assign, make_team


async def _now(value):
    return value


async def test_a_signed_url_with_a_trailing_slash_keeps_its_signature_out_of_the_log(start_gateway, capsys):
    """A picture's URL with "/" (or anything) after its signature matched no route, and the 404's log line held the
    path whole: the signature, the URL's only credential, in the log (README: "Logs never hold a signed URL's
    signature")."""
    gateway, _ = await _start(start_gateway)
    status, upload = await gateway.call("POST", "/v1/media", {"community_id": 1, "content_type": "image/png",
                                                             "data": "iVBORw0KGgo="})
    assert status == 201, upload
    signature = upload["url"].rsplit("/", 1)[1]
    logs.configure(from_dict({"log": {"format": "json", "level": "info"}}))
    capsys.readouterr()
    for tail in ("/", "/x", "/.png", "%2F"):
        status, _, _ = await _get(gateway, upload["url"] + tail)
        assert status in (403, 404)
    out = capsys.readouterr().out
    assert [json.loads(line)["event"] for line in out.splitlines()]  # the refusals were logged
    assert signature not in out


async def test_the_link_page_names_its_pictures_under_the_public_urls_path(start_gateway):
    """A gateway behind a proxy at a path (GATEWAY_PUBLIC_URL https://example.org/sms, the proxy stripping /sms):
    the link in the SMS had the path, but the page's pictures were at /media/... (the host's root), which the proxy
    does not send to the gateway: every picture on the page broken."""
    prefix = "/sms"
    gateway = await start_gateway(media=FAST, public_path=prefix)
    community = await gateway.community(countries=["US", "GB"])
    await gateway.conversation(community["id"], advocate=(UK, "Alex"))
    await gateway.delivered_to(UK)
    await gateway.sms(PAT, PROXY, "Here", extra=mms(gateway.carrier.media.add(picture(1), "image/png")))
    link = (await gateway.delivered_to(UK, 2))[1].partition("\n")[2]
    assert link.startswith(gateway.config.public_url + "/m/")
    status, page, _ = await _get(gateway, link.removeprefix(gateway.config.public_url))  # as the proxy sends it
    assert status == 200
    sources = [part.split('"', 1)[0] for part in page.decode().split('<img src="')[1:]]
    assert len(sources) == 1 and sources[0].startswith(prefix + "/media/"), sources


async def test_a_media_redirect_to_an_internal_address_is_not_followed(start_gateway, aiohttp_server, db):
    """The carrier's media URL is on its own host, but its answer redirects to an internal address (an open redirect
    on the carrier, or a compromised file store): the gateway followed it, asking the internal service (SSRF). A
    redirect may lead to media.fetch_hosts or to a public address, never to a loopback or private one."""
    asked: list[str] = []

    async def internal(request: web.Request) -> web.Response:
        asked.append(request.path)
        return web.Response(body=picture(5), content_type="image/png")

    app = web.Application()
    app.router.add_get("/secret", internal)
    server = await aiohttp_server(app)
    gateway, _ = await _start(start_gateway, fetch_hosts="127.0.0.1")
    url = gateway.carrier.media.add(picture(1), "image/png")
    gateway.carrier.media.files[url[0].rsplit("/", 1)[1]].location = f"http://localhost:{server.port}/secret"
    assert (await gateway.sms(PAT, PROXY, "See this", extra=mms(url)))[0] == 200
    await wait_for(lambda: _now([m for m in gateway.carrier.sent if m["To"] == ALEX and m["Body"] == "See this"]),
                   what="the text relayed without the picture")
    assert asked == []
    assert await db.fetchval("SELECT state FROM message_media") == "failed"


@pytest.mark.parametrize("address, public", [
    ("127.0.0.1", False), ("10.1.2.3", False), ("192.168.0.9", False), ("172.16.5.5", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("::1", False), ("fe80::1%eth0", False),
    ("::ffff:127.0.0.1", False), ("fd00::1", False), ("224.0.0.1", False), ("not an address", False),
    ("52.216.0.1", True), ("2600:1f18::1", True),
])
def test_which_addresses_a_redirect_may_lead_to(address, public):
    assert rules.public_address(address) is public


async def _raw_file_server(content_type: bytes, body: bytes) -> tuple[asyncio.Server, int]:
    """A file store answering any request with these raw bytes as its Content-Type (no HTTP library would send
    them)."""
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type + b"\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n" % len(body) + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.mark.parametrize("content_type", [b"image/\xffpng", b"image/" + b"x" * 3000, b"image/png\"<b>"])
async def test_a_file_whose_content_type_is_garbage_is_refused_not_stuck(start_gateway, db, content_type):
    """A file store answering a Content-Type that is no media type (a byte that is not UTF-8, thousands of
    characters, quotes and markup) passed "image/*": a non-UTF-8 byte crashed the store (Postgres takes no lone
    surrogate), and a crash is no try (media.fetch_attempts never ends it), so the text waited forever; the others
    were kept under that type, and a refused one's type went into the sender's notice as it came."""
    server, port = await _raw_file_server(content_type, picture(1))
    try:
        gateway, _ = await _start(start_gateway, fetch_attempts=1, fetch_timeout=1.0)
        url = gateway.carrier.media.add(picture(1), "image/png")
        gateway.carrier.media.files[url[0].rsplit("/", 1)[1]].location = f"http://127.0.0.1:{port}/file"
        await gateway.sms(PAT, PROXY, "Odd file", extra=mms(url))
        await wait_for(lambda: _now("Odd file" in gateway.carrier.bodies_to(ALEX)), what="the text relayed")
        row = await db.fetchrow("SELECT state, refusal, content_type FROM message_media")
        assert (row["state"], row["refusal"], row["content_type"]) == ("refused", "type_not_allowed", None)
        assert await gateway.delivered_to(PAT) == ["Your picture wasn't relayed: its type can't be sent."]
    finally:
        server.close()
        await server.wait_closed()


async def test_strangers_pictures_reach_a_dedicated_member_and_a_team(start_gateway):
    """Held up: a stranger's picture to a dedicated member's number, and two strangers' pictures at once to a team's
    number, each reach whom their text reaches, as MMS, the pictures fetched once each."""
    gateway = await start_gateway(media=FAST)
    community = await gateway.community(numbers=(PROXY, PROXY_2))
    await assign(gateway, community["id"], PROXY, {"member": {"phone": ALEX, "name": "Alex"}})
    team = await make_team(gateway, community["id"], members=((SAM, "Sam"), (KIM, "Kim")))
    await assign(gateway, community["id"], PROXY_2, {"team_id": team["id"]})
    media = gateway.carrier.media
    await gateway.sms(PAT, PROXY, "", extra=mms(media.add(picture(1), "image/png")))
    await asyncio.gather(gateway.sms(PAT, PROXY_2, "Mine", extra=mms(media.add(picture(2), "image/png"))),
                         gateway.sms(LEE, PROXY_2, "Mine too", extra=mms(media.add(picture(3), "image/png"),
                                                                         media.add(picture(4), "image/png"))))

    async def mms_to(phone, count):
        found = [m for m in gateway.carrier.sent if m["To"] == phone and m.get("MediaUrl")]
        return found if len(found) >= count else None

    [to_alex] = await wait_for(lambda: mms_to(ALEX, 1), what="the MMS to Alex")
    assert unwrap(to_alex["Body"]) == "+1415***2671: (picture)" and len(to_alex["MediaUrl"]) == 1
    for member in (SAM, KIM):
        got = await wait_for(lambda: mms_to(member, 2), what=f"both strangers' MMS to {member}")
        assert sorted(len(m["MediaUrl"]) for m in got) == [1, 2]
    assert len(media.fetches) == 4


async def test_ten_uploads_go_in_one_mms_in_the_order_named(start_gateway):
    """Held up: the most a message may name (10), in the order named, each served at its signed URL."""
    gateway, conversation = await _start(start_gateway)
    files = [picture(n, 100) for n in range(10)]
    ids = []
    for content in files:
        status, body = await gateway.call("POST", "/v1/media", {
            "community_id": conversation["community_id"], "content_type": "image/png",
            "data": base64.b64encode(content).decode()})
        assert status == 201, body
        ids.append(body["id"])
    status, message = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                                         {"from": "advocate", "body": "All ten", "media": ids[::-1]})
    assert status == 201, message
    sent = await wait_for(lambda: _sent_with_media(gateway, PAT), what="the MMS to Pat")
    assert [(await _get(gateway, url))[1] for url in sent["MediaUrl"]] == files[::-1]


async def test_a_token_limited_to_one_community_reaches_no_other_communitys_pictures(start_gateway):
    """Held up: GET /v1/messages/{id}/media and POST /v1/media of another community answer 404 as for a message or
    community that does not exist; a read-only token uploads nothing."""
    gateway = await start_gateway(media=FAST, server={"api_tokens": {
        "tests": TOKEN, "ops": {"token": "ops-token-0123456789", "communities": [1]},
        "reader": {"token": "reader-token-0123456789", "communities": [1], "read_only": True}}})
    await gateway.community(numbers=(PROXY,))
    theirs = await gateway.conversation((await gateway.community(numbers=(PROXY_2,)))["id"])
    upload = {"community_id": 2, "content_type": "image/png", "data": "iVBORw0KGgo="}
    for method, path, body, code in (
            ("GET", f"/v1/messages/{theirs['notification']['id']}/media", None, "message_not_found"),
            ("POST", "/v1/media", upload, "community_not_found")):
        status, answer = await gateway.call(method, path, body, token="ops-token-0123456789")
        assert (status, answer["error"]["code"]) == (404, code), (path, answer)
    status, answer = await gateway.call("POST", "/v1/media", {**upload, "community_id": 1},
                                        token="reader-token-0123456789")
    assert (status, answer["error"]["code"]) == (403, "read_only_token")


async def test_a_member_removed_while_a_picture_is_fetched_gets_no_copy(start_gateway):
    """Held up: a group member removed while a text's picture is being fetched (its copies held awaiting_media) gets
    no copy when the fetch ends; the others get the MMS."""
    gateway = await start_gateway(media=FAST)
    community = await gateway.community()
    group = await open_group(gateway, community["id"], people=((PAT, "Pat"), (ALEX, "Alex"), (SAM, "Sam"),
                                                               (KIM, "Kim")))
    await gateway.delivered_to(KIM)
    url = gateway.carrier.media.add(picture(1), "image/png", delays=[1.0])
    await gateway.sms(PAT, PROXY, "Look", extra=mms(url))
    await wait_for(lambda: _now(gateway.carrier.media.started), what="the fetch started")
    status, body = await gateway.call("DELETE", f"/v1/conversations/{group['id']}/members/%2B{KIM[1:]}")
    assert status == 200, body
    for phone in (ALEX, SAM):
        await wait_for(lambda: _sent_with_media(gateway, phone), what=f"the MMS to {phone}")
    await asyncio.sleep(0.3)
    assert not [m for m in gateway.carrier.sent if m["To"] == KIM and m.get("MediaUrl")]


async def test_a_number_removed_while_a_picture_is_fetched_sends_nothing_more(start_gateway, db):
    """A community's number removed while a text's picture is fetched: its copies were canceled with the number, but
    the refusal notice, made when the fetch ended, went to the sender from the number the community no longer has
    (the removal's cancel had run before it existed)."""
    gateway = await start_gateway(media={**FAST, "max_file_bytes": 1000})
    await gateway.community(numbers=(PROXY, PROXY_2))
    await gateway.conversation(1)
    await gateway.delivered_to(ALEX)
    url = gateway.carrier.media.add(picture(1, 5000), "image/png", delays=[1.0])
    await gateway.sms(PAT, PROXY, "Too big", extra=mms(url))
    await wait_for(lambda: _now(gateway.carrier.media.started), what="the fetch started")
    status, body = await gateway.call("DELETE", f"/v1/communities/1/numbers/%2B{PROXY[1:]}?close_conversations=true")
    assert status == 200, body
    await wait_for(lambda: _now(gateway.carrier.media.fetches), what="the fetch ended")
    await asyncio.sleep(0.5)
    assert await db.fetchval("SELECT state FROM message_media") == "refused"
    assert [m["Body"] for m in gateway.carrier.sent if m["To"] == PAT] == []
    assert [m["Body"] for m in gateway.carrier.sent if m["To"] == ALEX][1:] == []


async def test_a_file_claiming_gigabytes_is_refused_not_stuck(start_gateway, db):
    """A file store answering Content-Length: 3000000000 (an endless stream, a lie) was refused as too large, as
    README says, but its size did not fit the row's integer: the refusal crashed on every try, and a crash is no
    try, so the text waited for its picture forever. Such a size is not kept (nor said)."""
    raw = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 3000000000\r\nConnection: close\r\n\r\n"

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(raw + picture(1))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        gateway, _ = await _start(start_gateway, fetch_attempts=1, fetch_timeout=1.0)
        url = gateway.carrier.media.add(picture(1), "image/png")
        port = server.sockets[0].getsockname()[1]
        gateway.carrier.media.files[url[0].rsplit("/", 1)[1]].location = f"http://127.0.0.1:{port}/file"
        await gateway.sms(PAT, PROXY, "Huge", extra=mms(url))
        await wait_for(lambda: _now("Huge" in gateway.carrier.bodies_to(ALEX)), what="the text relayed")
        row = await db.fetchrow("SELECT refusal, size FROM message_media")
        assert (row["refusal"], row["size"]) == ("too_large", None)
        assert await gateway.delivered_to(PAT) == ["Your picture wasn't relayed: it is over the 5.0 MB limit."]
    finally:
        server.close()
        await server.wait_closed()


async def test_a_media_url_that_is_no_url_fails_at_once(start_gateway, db):
    """A carrier's MediaUrl that urlsplit refuses ("http://[127.0.0.1/x": an unclosed IPv6 bracket) crashed the
    host check on every try, and a crash is no try: the text waited for its picture forever."""
    gateway, _ = await _start(start_gateway, fetch_attempts=1)
    await gateway.sms(PAT, PROXY, "Broken link", extra=mms(("http://[127.0.0.1/x", "image/png")))
    await wait_for(lambda: _now("Broken link" in gateway.carrier.bodies_to(ALEX)), what="the text relayed")
    assert await db.fetchval("SELECT state FROM message_media") == "failed"


async def test_an_upload_to_a_recipient_outside_the_us_goes_as_a_link(start_gateway):
    """Held up: a picture the platform uploads, sent to a UK prospect, goes as an SMS with a link to a page that
    shows it."""
    gateway = await start_gateway(media=FAST)
    community = await gateway.community(countries=["US", "GB"])
    conversation = await gateway.conversation(community["id"], prospect=(UK, "Pat"))
    status, upload = await gateway.call("POST", "/v1/media", {"community_id": community["id"],
                                                             "content_type": "image/png",
                                                             "data": base64.b64encode(picture(3)).decode()})
    assert status == 201, upload
    status, message = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                                         {"from": "advocate", "body": "Your keys", "media": [upload["id"]]})
    assert status == 201, message
    text, _, link = (await gateway.delivered_to(UK))[-1].partition("\n")
    assert "Your keys" in text and link.startswith(gateway.config.public_url + "/m/")
    status, page, _ = await _get(gateway, link)
    [source] = [part.split('"', 1)[0] for part in page.decode().split('<img src="')[1:]]
    assert (await _get(gateway, source.replace("&amp;", "&")))[1] == picture(3)


async def test_a_hanging_fetch_does_not_hold_up_other_texts_pictures(start_gateway):
    """One carrier file that hangs (until media.fetch_timeout) held up every other picture of the process: the task
    claimed up to 4 rows and waited for all of them before claiming more, so Alex's picture, due at once, waited for
    Pat's hanging one. Fetches run side by side now, up to 4 at once, a freed slot taken at once."""
    gateway = await start_gateway(media={**FAST, "fetch_timeout": 10.0})
    community = await gateway.community(numbers=(PROXY, PROXY_2))
    await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    media = gateway.carrier.media
    await gateway.sms(PAT, PROXY, "Slow", extra=mms(media.add(picture(1), "image/png", delays=[8.0])))
    await wait_for(lambda: _now(media.started), what="the slow fetch started")
    await gateway.sms(ALEX, PROXY, "Quick", extra=mms(media.add(picture(2), "image/png")))
    await wait_for(lambda: _sent_with_media(gateway, PAT), what="Alex's picture relayed")
    assert not _now_sent(gateway, ALEX)  # Pat's is still being fetched: Alex's did not wait for it


def _now_sent(gateway, phone):
    return [m for m in gateway.carrier.sent if m["To"] == phone and m.get("MediaUrl")]


@pytest.mark.parametrize("content_type", ["image/png\r\nX-Evil: 1", "image/png; charset=utf-8", "image", "é/png"])
async def test_the_sandbox_refuses_a_picture_type_it_could_not_serve(start_gateway, content_type):
    """The sandbox kept any "content_type" string: one with a line break or a charset crashed its own media route
    (500, "request_crashed", aiohttp refusing the header) on every fetch, and the text waited through every retry
    before it went without the picture. A type/subtype is required, as the API's upload requires (422)."""
    gateway = await start_gateway("sandbox", media=FAST)
    community = await gateway.community()
    await gateway.conversation(community["id"])
    status, body = await gateway.call("POST", "/sandbox/inbound", {
        "from": PAT, "to": PROXY, "body": "Odd", "media": [{"content_type": content_type, "data": "iVBORw0KGgo="}]})
    assert (status, body["error"]["code"]) == (422, "invalid_field"), body


async def test_uploads_named_together_keep_to_the_messages_limit(start_gateway, db):
    """media.max_message_bytes is "a message's attachments together", and an inbound MMS keeps to it; but a platform
    naming several uploads, each within media.max_file_bytes, sent them all however large together (Twilio: 5 MB a
    message, the carrier refusing the send). Over the limit together: 422, nothing stored, the uploads still
    unused."""
    gateway, conversation = await _start(start_gateway, max_file_bytes=3000, max_message_bytes=5000)
    ids = []
    for n in range(2):
        status, body = await gateway.call("POST", "/v1/media", {
            "community_id": conversation["community_id"], "content_type": "image/png",
            "data": base64.b64encode(picture(n, 2900)).decode()})
        assert status == 201, body
        ids.append(body["id"])
    before = await db.fetchval("SELECT count(*) FROM messages")
    path = f"/v1/conversations/{conversation['id']}/messages"
    status, body = await gateway.call("POST", path, {"from": "advocate", "body": "Both", "media": ids})
    assert (status, body["error"]["code"]) == (422, "invalid_field"), body
    assert await db.fetchval("SELECT count(*) FROM messages") == before
    status, body = await gateway.call("POST", path, {"from": "advocate", "body": "One", "media": ids[:1]})
    assert status == 201, body


@pytest.mark.parametrize("to, expected", [
    ("+14155552671", True), ("+16135550123", True), ("+18005550199", True),  # US, Canada, toll-free
    ("+18765550123", False), ("+12425550123", False),  # Jamaica, the Bahamas
])
def test_only_us_and_canadian_numbers_take_mms_not_all_of_plus_one(to, expected):
    """The issue: "Where MMS cannot go (outside the US and Canada ...), the recipient gets an SMS with a link". Every
    +1 number was sent an MMS: Jamaica's and the Bahamas' too (the +1 plan spans some 20 countries)."""
    assert rules.takes_mms(to, True) is expected

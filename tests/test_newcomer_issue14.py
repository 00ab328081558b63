"""A newcomer's findings on issue 14 (pictures), tried from the README alone: each a reproduction over HTTP on real
servers (the Twilio fake serving the media), written before its fix."""

from __future__ import annotations

import json

from gateway.config import from_dict
from gateway.ops import logs
from tests.helpers import PAT, PROXY
from tests.test_media import FAST, UK, _get, _start, mms, picture


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

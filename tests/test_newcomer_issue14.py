"""A newcomer's findings on issue 14 (pictures), tried from the README alone: each a reproduction over HTTP on real
servers (the Twilio fake serving the media), written before its fix."""

from __future__ import annotations

import json

from gateway.config import from_dict
from gateway.ops import logs
from tests.test_media import _get, _start


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

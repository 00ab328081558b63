"""Each carrier's MMS wire format (issue 14): the gateway's signed URLs in the field its API reads, against a local
server that records what the carrier's send posted; and which carriers send MMS at all."""

import json
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web

from gateway import carriers
from gateway.carriers import OutboundSms, Resources
from gateway.config import Config
from gateway.ops.metrics import Metrics

URLS = ("https://gw.example/media/1/x/s1", "https://gw.example/media/2/x/s2", "https://gw.example/media/3/x/s3")


class Recorder:
    def __init__(self) -> None:
        self.posted: list[tuple[str, bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.posted.append((request.content_type, await request.read()))
        return web.json_response({"sid": "SM1", "data": {"id": "t1"}, "id": "b1", "message_uuid": ["p1"]}, status=201)


@pytest.fixture
async def recorder(aiohttp_server):
    fake = Recorder()
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", fake.handle)
    server = await aiohttp_server(app)
    fake.url = str(server.make_url("")).rstrip("/")
    return fake


def _carrier(name: str, url: str):
    settings = {"twilio": {"account_sid": "AC1", "auth_token": "t"}, "telnyx": {"api_key": "k"},
                "bandwidth": {"account_id": "1", "application_id": "a", "username": "u", "password": "p"},
                "plivo": {"auth_id": "MA1", "auth_token": "t"}}[name]
    config = Config()
    module = carriers.modules()[name]
    return module.create(module.Settings(**settings, api_base=url), config)


def _sent(recorder: Recorder) -> dict:
    content_type, body = recorder.posted[-1]
    if content_type == "application/json":
        return json.loads(body)
    return parse_qs(body.decode())


@pytest.mark.parametrize("name, field, expected", [
    ("twilio", "MediaUrl", list(URLS)),
    ("telnyx", "media_urls", list(URLS)),
    ("bandwidth", "media", list(URLS)),
    ("plivo", "media_urls", list(URLS)),
])
async def test_each_mms_carrier_names_every_picture(recorder, name, field, expected):
    carrier = _carrier(name, recorder.url)
    async with aiohttp.ClientSession() as session:
        await carrier.open(Resources(session, None, Metrics()))
        await carrier.send(OutboundSms(1, "+14155550100", "+14155552671", "Look", URLS), "https://gw/cb")
        sent = _sent(recorder)
        assert sent[field] == expected
        if name == "plivo":
            assert sent["type"] == "mms"
        await carrier.send(OutboundSms(2, "+14155550100", "+14155552671", "Plain"), "https://gw/cb")
        plain = _sent(recorder)
        assert field not in plain and plain.get("type") != "mms"  # a text without pictures is the same SMS as before
    assert carrier.sends_mms


@pytest.mark.parametrize("name, sends_mms", [
    ("twilio", True), ("telnyx", True), ("bandwidth", True), ("plivo", True), ("sandbox", True), ("vonage", True),
    ("jasmin", False), ("kannel", False),
])
def test_which_carriers_send_mms(name, sends_mms):
    """The others get a link to a signed page in an SMS (README "Pictures (MMS)")."""
    carrier_class = next(value for value in vars(carriers.modules()[name]).values()
                         if isinstance(value, type) and issubclass(value, carriers.Carrier)
                         and getattr(value, "name", "") == name and value.__module__.endswith(name)
                         and "send" in vars(value))
    assert carrier_class.sends_mms is sends_mms

"""One gateway, five carriers at once: a community holds a number on each of Twilio, Telnyx, Vonage, Bandwidth and
Plivo, and each conversation relays through its own number's carrier, both ways, to a delivered status.

Each carrier is a local server speaking its wire format (tests/fakes*.py); each webhook is signed as that carrier
signs it and posted as it posts it."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import pytest

from tests import fakes_bandwidth, fakes_plivo, fakes_telnyx, fakes_vonage
from tests.fakes_bandwidth import FakeBandwidth
from tests.fakes_plivo import FakePlivo
from tests.fakes_telnyx import FakeTelnyx
from tests.fakes_vonage import FakeVonage
from tests.helpers import ALEX, PAT, PROXY, PROXY_2, PROXY_3, SAM, wait_for

NUMBERS = {PROXY: "twilio", PROXY_2: "telnyx", PROXY_3: "vonage", "+14155550103": "bandwidth",
           "+14155550104": "plivo"}
PROSPECTS = [PAT, SAM, "+14155552674", "+14155552675", "+14155552676"]


async def _served(aiohttp_server, fake):
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("")).rstrip("/")
    return fake


@dataclass
class Edge:
    """How one carrier's side looks to the test: what it was asked to send, and how it posts to the gateway."""

    fake: Any
    sent_to: Callable[[str], list[dict]]  # what it was asked to send to a phone, oldest first
    text: Callable[[dict], str]  # the text of one of those
    inbound: Callable[[Any, str, str, str], Awaitable[int]]  # (gateway, from, to, text) -> HTTP status
    delivered: Callable[[Any, dict], Awaitable[int]]  # (gateway, a sent message) -> HTTP status


async def _post(gateway, path: str, body: bytes, headers: dict) -> int:
    async with gateway.client.post(path, data=body, headers=headers) as response:
        return response.status


def _path(gateway, url: str) -> str:
    assert url.startswith(gateway.config.public_url), url
    return url[len(gateway.config.public_url):]


def _twilio(fake) -> Edge:
    async def delivered(gateway, sent):
        form = {"MessageSid": sent["sid"], "MessageStatus": "delivered", "AccountSid": "x"}
        return (await gateway._signed(_path(gateway, sent["StatusCallback"]), form, True, None))[0]

    async def inbound(gateway, sender, to, text):
        return (await gateway.sms(sender, to, text))[0]

    return Edge(fake, lambda phone: [m for m in fake.sent if m["To"] == phone], lambda m: m["Body"], inbound,
                delivered)


def _telnyx(fake: FakeTelnyx) -> Edge:
    async def inbound(gateway, sender, to, text):
        body = fakes_telnyx.event("message.received", str(uuid.uuid4()), sender=sender, to=to, text=text)
        return await _post(gateway, "/webhooks/telnyx/sms", body, fake.signer.headers(body))

    async def delivered(gateway, sent):
        return (await fake.report(sent, "delivered"))[0]

    return Edge(fake, lambda phone: [m for m in fake.sent if m["to"] == phone], lambda m: m["text"], inbound,
                delivered)


def _vonage(fake: FakeVonage) -> Edge:
    async def inbound(gateway, sender, to, text):
        body = json.dumps({"channel": "sms", "message_uuid": str(uuid.uuid4()), "to": to.lstrip("+"),
                           "from": sender.lstrip("+"), "timestamp": "2026-11-29T14:00:00Z", "text": text,
                           "message_type": "text"}).encode()
        return await _post(gateway, "/webhooks/vonage/inbound", body,
                           {"Authorization": fakes_vonage.sign(body), "Content-Type": "application/json"})

    async def delivered(gateway, sent):
        body = json.dumps({"message_uuid": sent["message_uuid"], "to": sent["to"], "from": sent["from"],
                           "timestamp": "2026-11-29T14:00:05Z", "status": "delivered", "channel": "sms"}).encode()
        return await _post(gateway, _path(gateway, sent["webhook_url"]), body,
                           {"Authorization": fakes_vonage.sign(body), "Content-Type": "application/json"})

    return Edge(fake, lambda phone: [m for m in fake.sent if "+" + m["to"] == phone], lambda m: m["text"],
                inbound, delivered)


def _bandwidth(fake: FakeBandwidth) -> Edge:
    async def callback(gateway, event):
        return await _post(gateway, fakes_bandwidth.PATH, json.dumps([event]).encode(),
                           fakes_bandwidth.callback_headers())

    async def inbound(gateway, sender, to, text):
        return await callback(gateway, fakes_bandwidth.inbound_event(sender, to, text))

    async def delivered(gateway, sent):
        return await callback(gateway, fakes_bandwidth.status_event("message-delivered", sent["id"], sent["from"],
                                                                    sent["to"][0]))

    return Edge(fake, lambda phone: [m for m in fake.sent if m["to"] == [phone]], lambda m: m["text"], inbound,
                delivered)


def _plivo(fake: FakePlivo) -> Edge:
    async def inbound(gateway, sender, to, text):
        params = {"From": sender.lstrip("+"), "To": to.lstrip("+"), "Text": text, "Type": "sms",
                  "MessageUUID": str(uuid.uuid4())}
        body, content_type = fakes_plivo.encode(params)
        headers = {**fakes_plivo.sign(gateway.config.public_url + "/webhooks/plivo/sms", params),
                   "Content-Type": content_type}
        return await _post(gateway, "/webhooks/plivo/sms", body, headers)

    async def delivered(gateway, sent):
        return await fake.callback(sent, "delivered")

    return Edge(fake, lambda phone: [m for m in fake.sent if m["dst"] == phone], lambda m: m["text"], inbound,
                delivered)


@pytest.fixture
async def five_carriers(start_gateway, fake_twilio, aiohttp_server):
    telnyx = await _served(aiohttp_server, FakeTelnyx())
    vonage = await _served(aiohttp_server, FakeVonage())
    bandwidth = await _served(aiohttp_server, FakeBandwidth())
    plivo = await _served(aiohttp_server, FakePlivo())
    gateway = await start_gateway(
        "twilio", carrier={"also": "telnyx,vonage,bandwidth,plivo"},
        telnyx={"api_key": fakes_telnyx.API_KEY, "public_key": telnyx.signer.public_key, "api_base": telnyx.url},
        vonage={"api_key": fakes_vonage.API_KEY, "api_secret": fakes_vonage.API_SECRET,
                "signature_secret": fakes_vonage.SIGNATURE_SECRET, "api_base": vonage.url},
        bandwidth=fakes_bandwidth.settings(bandwidth.url),
        plivo={"auth_id": fakes_plivo.AUTH_ID, "auth_token": fakes_plivo.AUTH_TOKEN, "api_base": plivo.url})
    edges = {"twilio": _twilio(fake_twilio), "telnyx": _telnyx(telnyx), "vonage": _vonage(vonage),
             "bandwidth": _bandwidth(bandwidth), "plivo": _plivo(plivo)}
    return gateway, edges


async def _one_sent(edge: Edge, phone: str, words: str) -> dict:
    async def found():
        return next((m for m in edge.sent_to(phone) if words in edge.text(m)), None)

    return await wait_for(found, what=f"{words!r} sent to {phone}")


async def test_one_gateway_relays_through_each_numbers_own_carrier(five_carriers):
    gateway, edges = five_carriers
    community = await gateway.community(numbers=[{"phone": phone, "carrier": carrier}
                                                  for phone, carrier in NUMBERS.items()])
    assert community["carriers"] == NUMBERS
    conversations = [await gateway.conversation(community["id"], prospect=(prospect, "Pat"),
                                                message=f"Hello from {prospect}") for prospect in PROSPECTS]
    # Alex is in all five, so each took a number of its own: one on every carrier.
    assert {conversation["proxy_number"] for conversation in conversations} == set(NUMBERS)
    for prospect, conversation in zip(PROSPECTS, conversations):
        proxy = conversation["proxy_number"]
        carrier = NUMBERS[proxy]
        edge = edges[carrier]
        # The notification went out through the number's carrier, from the number, and through no other.
        await _one_sent(edge, ALEX, f"Hello from {prospect}")
        assert all(f"Hello from {prospect}" not in other.text(m)
                   for name, other in edges.items() if name != carrier for m in other.sent_to(ALEX))
        # Alex answers through that carrier's webhook; the relay goes back out through it to the prospect.
        assert await edge.inbound(gateway, ALEX, proxy, f"Answer via {carrier}") == 200, carrier
        relayed = await _one_sent(edge, prospect, f"Answer via {carrier}")
        # The carrier's delivery status reaches the relayed message.
        assert await edge.delivered(gateway, relayed) == 200, carrier

        async def delivered():
            messages = await gateway.messages(conversation["id"])
            return any(m["status"] == "delivered" and m["to"] == prospect for m in messages)

        await wait_for(delivered, what=f"the relayed text delivered through {carrier}")

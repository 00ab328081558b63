"""What a newcomer found by trying the finished issue 11 (five new carriers, the "both" webhook kind): each a
reproduction over HTTP, written before its fix."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.fakes_bandwidth import inbound_event
from tests.helpers import ALEX, PROXY, PROXY_2
from tests.test_bandwidth import fake_bandwidth, post as bandwidth_post, start_bandwidth  # noqa: F401 (fixtures)
from tests.test_vonage import fake_vonage, post as vonage_post, start_vonage, vonage  # noqa: F401 (fixtures)


def _vonage_inbound(**changes) -> dict:
    return {"channel": "sms", "message_uuid": str(uuid.uuid4()), "to": PROXY.lstrip("+"), "from": ALEX.lstrip("+"),
            "timestamp": "2026-11-29T14:00:00Z", "message_type": "text", "text": "hello", **changes}


@pytest.mark.parametrize("changes", [
    {"text": 123}, {"text": ["hello"]}, {"text": {"body": "hello"}}, {"text": True},
    {"message_type": "image", "image": {"url": "https://example.com/a.jpg", "caption": ["hi"]}},
    {"message_type": "image", "image": {"url": "https://example.com/a.jpg", "caption": 7}},
])
async def test_a_vonage_text_that_is_not_a_string_is_refused_not_stored_empty(vonage, db, changes):
    """A Vonage inbound whose "text" (or an MMS's caption) was a number, an array or an object was stored as an
    empty message (201 and a blank text relayed): the text was silently lost."""
    await vonage.community()
    status, body = await vonage_post(vonage, "/webhooks/vonage/inbound", _vonage_inbound(**changes))
    assert status == 400, body
    assert json.loads(body)["error"]["code"] == "invalid_field"
    assert await db.fetchval("SELECT count(*) FROM messages WHERE direction = 'inbound'") == 0


async def test_a_bandwidth_array_with_a_text_to_another_carriers_number_stores_nothing(start_bandwidth, db):
    """One Bandwidth callback array, a text to our Bandwidth number and one to a number on the sandbox: the
    request was refused (403 wrong_carrier), yet the first text was stored: half the array."""
    gateway = await start_bandwidth(carrier={"also": "sandbox"}, sandbox={"auth_token": "s" * 24})
    await gateway.community(numbers=[PROXY, {"phone": PROXY_2, "carrier": "sandbox"}])
    status, body = await bandwidth_post(gateway, [inbound_event(ALEX, PROXY, "mine"),
                                                  inbound_event(ALEX, PROXY_2, "not mine")])
    assert status == 403, body
    assert json.loads(body)["error"]["code"] == "wrong_carrier"
    assert await db.fetchval("SELECT count(*) FROM messages WHERE direction = 'inbound'") == 0

"""Event secret rotation (issue 12): a community's secret rotated through the API; during the grace window every
post (events, and the intercept's) carries the new secret's signature and the previous one's, so a receiver
verifying with either (the standardwebhooks library) accepts it; after it, only the new one. Who may read or
rotate a secret."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.helpers import ALEX, PAT, PROXY, PROXY_2, TOKEN, wait_for

OPS = "ops-token-0123456789"
READER = "reader-token-0123456789"


async def _secret(gateway, community_id: int) -> dict:
    status, body = await gateway.call("GET", f"/v1/communities/{community_id}/event-secret")
    assert status == 200, body
    return body


async def _rotate(gateway, community_id: int) -> dict:
    status, body = await gateway.call("POST", f"/v1/communities/{community_id}/event-secret/rotate")
    assert status == 200, body
    return body


async def _posts(receiver, count: int) -> list[dict]:
    return receiver.received[:count] if len(receiver.received) >= count else None


async def test_during_the_grace_window_both_secrets_verify_every_post(start_gateway, hook_receiver):
    gateway = await start_gateway(hooks={"interval": 0.05})
    community = await gateway.community(event_url=hook_receiver.url, event_types=["conversation.opened"],
                                        intercept_url=hook_receiver.url)
    old = await _secret(gateway, community["id"])
    assert (old["version"], old["previous_valid_until"]) == (0, None)
    new = await _rotate(gateway, community["id"])
    assert new["version"] == 1 and new["secret"].startswith("whsec_") and new["secret"] != old["secret"]
    assert new["previous_valid_until"] is not None
    assert await _secret(gateway, community["id"]) == new
    await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    await gateway.sms(PAT, PROXY, "Offered to the intercept URL first")
    posts = await wait_for(lambda: _posts(hook_receiver, 2), what="the event and the intercept's post")
    assert {post["headers"]["webhook-id"].split("_")[0] for post in posts} == {"evt", "intercept"}
    for post in posts:
        assert len(post["headers"]["webhook-signature"].split(" ")) == 2
        for secret in (old["secret"], new["secret"]):
            Webhook(secret).verify(post["body"], post["headers"])  # raises when it does not verify


async def test_after_the_grace_window_only_the_new_secret_verifies(gateway, hook_receiver, db):
    community = await gateway.community(event_url=hook_receiver.url, event_types=["conversation.opened"])
    old = await _secret(gateway, community["id"])
    await _rotate(gateway, community["id"])
    newest = await _rotate(gateway, community["id"])  # again: only the newest two sign
    assert newest["version"] == 2
    await db.execute("UPDATE communities SET event_secret_rotated_at = now() - interval '25 hours' WHERE id = $1",
                     community["id"])
    assert (await _secret(gateway, community["id"]))["previous_valid_until"] is None
    await gateway.conversation(community["id"])
    [post] = await wait_for(lambda: _posts(hook_receiver, 1), what="the event")
    assert len(post["headers"]["webhook-signature"].split(" ")) == 1
    assert Webhook(newest["secret"]).verify(post["body"], post["headers"])["type"] == "conversation.opened"
    with pytest.raises(WebhookVerificationError):
        Webhook(old["secret"]).verify(post["body"], post["headers"])


async def test_a_rotation_within_the_grace_keeps_only_the_newest_two(gateway, hook_receiver):
    community = await gateway.community(event_url=hook_receiver.url, event_types=["conversation.opened"])
    first = await _secret(gateway, community["id"])
    second = await _rotate(gateway, community["id"])
    third = await _rotate(gateway, community["id"])
    await gateway.conversation(community["id"])
    [post] = await wait_for(lambda: _posts(hook_receiver, 1), what="the event")
    for secret in (second["secret"], third["secret"]):
        Webhook(secret).verify(post["body"], post["headers"])
    with pytest.raises(WebhookVerificationError):
        Webhook(first["secret"]).verify(post["body"], post["headers"])


async def test_who_may_read_or_rotate_a_secret(start_gateway):
    gateway = await start_gateway(server={"api_tokens": {
        "tests": TOKEN, "ops": {"token": OPS, "communities": [1]},
        "reader": {"token": READER, "communities": [1], "read_only": True}}})
    await gateway.community(numbers=(PROXY,))
    await gateway.community(numbers=(PROXY_2,))
    for method, path in (("GET", "/v1/communities/1/event-secret"),
                         ("POST", "/v1/communities/1/event-secret/rotate")):
        status, answer = await gateway.call(method, path, token=READER)
        assert (status, answer["error"]["code"]) == (403, "read_only_token"), path
    for method, path in (("GET", "/v1/communities/2/event-secret"), ("POST", "/v1/communities/2/event-secret/rotate")):
        status, answer = await gateway.call(method, path, token=OPS)
        assert (status, answer["error"]["code"]) == (404, "community_not_found"), path
    status, answer = await gateway.call("GET", "/v1/event-secret", token=OPS)
    assert (status, answer["error"]["code"]) == (403, "outside_token_scope")
    status, answer = await gateway.call("POST", "/v1/communities/1/event-secret/rotate", token=OPS)
    assert (status, answer["version"]) == (200, 1)
    assert (await gateway.call("GET", "/v1/communities/2/event-secret"))[1]["version"] == 0  # its own, untouched
    status, answer = await gateway.call("POST", "/v1/communities/99/event-secret/rotate")
    assert (status, answer["error"]["code"]) == (404, "community_not_found")
    status, document = await gateway.call("GET", "/openapi.json", token=None)
    rotate = document["paths"]["/v1/communities/{id}/event-secret/rotate"]["post"]
    assert "read_only_token" in rotate["responses"]["403"]["description"]

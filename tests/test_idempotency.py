"""Idempotency-Key: a retried POST does its work once, across two gateway processes on one Postgres and Redis."""

from __future__ import annotations

import asyncio

from tests.helpers import ALEX, PAT, PROXY, TOKEN, wait_for


async def _post(gateway, path, body, key, token=TOKEN):
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    async with gateway.client.post(path, json=body, headers=headers) as response:
        return response.status, await response.json(), response.headers.get("Idempotent-Replayed")


def _start_body(community_id: int, message: str = "Is housing included?") -> dict:
    return {"community_id": community_id, "prospect": {"phone": PAT, "name": "Pat"},
            "advocate": {"phone": ALEX, "name": "Alex"}, "message": message}


async def test_a_retried_conversation_start_opens_one_across_two_processes(start_gateway):
    first, second = await start_gateway(), await start_gateway()
    community = await first.community()
    status, body, replayed = await _post(first, "/v1/conversations", _start_body(community["id"]), "start-1")
    assert (status, replayed) == (201, None), body
    again = await _post(second, "/v1/conversations", _start_body(community["id"]), "start-1")
    assert again == (201, body, "true")
    await first.delivered_to(ALEX)
    await asyncio.sleep(0.3)
    assert len(first.carrier.bodies_to(ALEX)) == 1


async def test_a_retried_message_is_sent_once_across_two_processes(start_gateway):
    first, second = await start_gateway(), await start_gateway()
    conversation = await first.conversation((await first.community())["id"])
    path = f"/v1/conversations/{conversation['id']}/messages"
    write = {"from": "advocate", "body": "Yes, one space."}
    answers = await asyncio.gather(*[_post(gateway, path, write, "write-1") for _ in range(3)
                                     for gateway in (first, second)])
    created = [body for status, body, replayed in answers if status == 201 and replayed is None]
    assert len(created) == 1, answers
    for status, body, replayed in answers:  # the others replayed it, or found it still running
        assert (status, body) == (201, created[0]) or (status, body["error"]["code"]) == (
            409, "idempotency_key_in_flight"), answers
    assert (await _post(second, path, write, "write-1"))[:2] == (201, created[0])
    await first.delivered_to(PAT)
    await asyncio.sleep(0.3)
    assert len(first.carrier.bodies_to(PAT)) == 1
    assert [m["kind"] for m in await first.messages(conversation["id"])] == ["notification", "relay"]


async def test_the_same_key_with_another_body_is_refused(gateway):
    conversation = await gateway.conversation((await gateway.community())["id"])
    path = f"/v1/conversations/{conversation['id']}/messages"
    assert (await _post(gateway, path, {"from": "advocate", "body": "One"}, "k"))[0] == 201
    status, body, _ = await _post(gateway, path, {"from": "advocate", "body": "Two"}, "k")
    assert (status, body["error"]["code"]) == (422, "idempotency_key_reused")
    status, body, _ = await _post(gateway, f"/v1/conversations/{conversation['id']}/close", {}, "k")
    assert (status, body["error"]["code"]) == (422, "idempotency_key_reused")


async def test_a_refusal_is_replayed_too_and_keys_are_per_token(start_gateway):
    gateway = await start_gateway(server={"api_tokens": {"tests": TOKEN, "other": "another-token"}})
    bad = {"name": "Acme", "numbers": ["not a number"]}
    first = await _post(gateway, "/v1/communities", bad, "c-1")
    assert first[0] == 422
    assert await _post(gateway, "/v1/communities", bad, "c-1") == (*first[:2], "true")
    good = {"name": "Acme", "numbers": [PROXY]}
    assert (await _post(gateway, "/v1/communities", good, "c-1", token="another-token"))[0] == 201


async def test_a_key_expires_after_its_time(start_gateway, db):
    gateway = await start_gateway(server={"idempotency_ttl": 1.0})
    conversation = await gateway.conversation((await gateway.community())["id"])
    path = f"/v1/conversations/{conversation['id']}/messages"
    write = {"from": "advocate", "body": "Again"}
    first = await _post(gateway, path, write, "short")
    assert (await _post(gateway, path, write, "short"))[:2] == first[:2]
    await asyncio.sleep(1.1)
    later = await _post(gateway, path, write, "short")
    assert later[0] == 201 and later[1]["id"] != first[1]["id"] and later[2] is None
    # Expired rows are deleted by the background task (at most every idempotency_ttl seconds here).
    await wait_for(lambda: db.fetchval("SELECT count(*) = 1 FROM idempotency_keys"), 5.0, "expired keys deleted")


async def test_a_post_without_a_key_is_not_remembered_and_a_bad_key_is_refused(gateway, db):
    community = await gateway.community()
    assert (await gateway.call("POST", f"/v1/communities/{community['id']}/restriction/lift"))[0] == 409
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys") == 0
    status, body, _ = await _post(gateway, "/v1/communities", {"name": "x", "numbers": [PROXY]}, "has space")
    assert (status, body["error"]["code"]) == (400, "invalid_idempotency_key")


async def test_a_claim_left_by_a_crashed_process_is_taken_over_after_its_lease(start_gateway, db):
    gateway = await start_gateway(server={"idempotency_lease": 0.5})
    community = await gateway.community()
    body = _start_body(community["id"])
    status, first, _ = await _post(gateway, "/v1/conversations", body, "crash")
    assert status == 201
    # As if the process died before storing its answer: the claim is there, with no answer.
    await db.execute("UPDATE idempotency_keys SET status = NULL, body = NULL")
    status, answer, _ = await _post(gateway, "/v1/conversations", body, "crash")
    assert (status, answer["error"]["code"]) == (409, "idempotency_key_in_flight")
    await asyncio.sleep(0.6)
    # Run again: the one-open-conversation-per-pair rule stops a second conversation.
    status, answer, _ = await _post(gateway, "/v1/conversations", body, "crash")
    assert (status, answer["error"]["code"]) == (409, "conversation_exists")


async def test_a_request_running_past_its_lease_keeps_its_key(start_gateway, db):
    """A first request that runs longer than the lease (here: it waits for the community's row, which the test
    holds) is still in flight for a retry: its lease is renewed while it runs, so the retry does not run it too."""
    gateway = await start_gateway(server={"idempotency_lease": 0.6})
    community = await gateway.community()
    path = f"/v1/communities/{community['id']}/numbers"
    async with db.transaction():
        await db.execute("SELECT 1 FROM communities WHERE id = $1 FOR UPDATE", community["id"])
        first = asyncio.ensure_future(_post(gateway, path, {"phone": "+14155550111"}, "slow"))
        await asyncio.sleep(1.5)  # two and a half leases
        retried = await asyncio.wait_for(_post(gateway, path, {"phone": "+14155550111"}, "slow"), 1.0)
        assert (retried[0], retried[1]["error"]["code"]) == (409, "idempotency_key_in_flight")
    status, answer, _ = await first
    assert status == 201 and "+14155550111" in answer["numbers"]

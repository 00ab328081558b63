"""One-time codes: sent ahead of relay traffic, stored only as a keyed hash, checked once, limited per hour."""

import re
from datetime import datetime, timedelta, timezone

import pytest

from gateway.messaging import outbox
from gateway.messaging.outbox import Outbox
from tests.helpers import ALEX, PAT, PROXY, SAM, wait_for


async def _community(gateway, **extra):
    return await gateway.community(require_verification=True, **extra)


async def _start(gateway, community_id, phone=PAT):
    return await gateway.call("POST", "/v1/verifications", {"community_id": community_id, "phone": phone})


async def _code(gateway, phone=PAT, count=1) -> str:
    bodies = await gateway.delivered_to(phone, count)
    match = re.fullmatch(r"(\d{6}) is your Acme Housing verification code\.", bodies[count - 1])
    assert match, bodies
    return match.group(1)


async def _check(gateway, verification_id, code):
    return await gateway.call("POST", f"/v1/verifications/{verification_id}/check", {"code": code})


async def test_verify_then_start_a_conversation(gateway, db):
    community = await _community(gateway)
    conversation = {"community_id": community["id"], "prospect": {"phone": PAT, "name": "Pat"},
                    "advocate": {"phone": ALEX, "name": "Alex"}, "message": "Hi"}
    status, body = await gateway.call("POST", "/v1/conversations", conversation)
    assert (status, body["error"]["code"]) == (409, "prospect_not_verified")

    status, verification = await _start(gateway, community["id"], "(415) 555-2671")
    assert status == 201 and verification["status"] == "pending" and verification["phone"] == PAT
    lifetime = datetime.fromisoformat(verification["expires_at"]) - datetime.now(timezone.utc)
    assert timedelta(minutes=9) < lifetime <= timedelta(minutes=10)  # ttl_minutes = 10
    assert verification["line_type"] == "mobile"
    code = await _code(gateway)
    wrong = "000000" if code != "000000" else "111111"
    assert await _check(gateway, verification["id"], wrong) == (200, {"status": "pending", "attempts_left": 4})
    assert await _check(gateway, verification["id"], code) == (200, {"status": "approved"})
    status, body = await _check(gateway, verification["id"], code)  # a code works once
    assert (status, body["error"]["code"]) == (409, "verification_not_pending")
    assert await db.fetchval("SELECT count(*) FROM verified_phones WHERE phone = $1", PAT) == 1

    status, body = await gateway.call("POST", "/v1/conversations", conversation)
    assert status == 201


async def test_only_a_keyed_hash_of_the_code_is_stored_or_logged(gateway, db, capfd):
    community = await _community(gateway)
    status, verification = await _start(gateway, community["id"])
    code = await _code(gateway)
    row = await db.fetchrow("SELECT * FROM verifications WHERE id = $1", verification["id"])
    assert code.encode() not in row["code_hash"] and len(row["code_hash"]) == 32
    assert code not in str(dict(row))
    # The message row shows a mask; the code itself waited in Redis only until the carrier took it.
    message = await gateway.message(verification["message"]["id"])
    # (the first text to this phone, so it also carries the sender identification)
    assert message["body"] == "Acme Housing: ****** is your Acme Housing verification code. Reply STOP to opt out."
    assert code not in str(message)
    assert await wait_for(lambda: _code_forgotten(gateway, message["id"]), what="code removed from Redis")
    out, err = capfd.readouterr()
    assert code not in out and code not in err


async def _code_forgotten(gateway, message_id):
    return not await gateway.redis.exists(f"gw:code:{message_id}")


async def test_code_that_expired_in_the_queue_is_not_sent(start_gateway, redis_client):
    # A verification message whose code is no longer in Redis (its TTL ran out while the queue was long).
    # At 0.5 segments a second the number's first code holds the second back 2 s: time to let its code go.
    gateway = await start_gateway(relay={"per_number_rate": 0.5})
    community = await _community(gateway)
    await _start(gateway, community["id"], SAM)
    await gateway.delivered_to(SAM)
    status, waiting = await _start(gateway, community["id"], PAT)
    assert status == 201, waiting
    assert await redis_client.delete(f"gw:code:{waiting['message']['id']}") == 1  # still queued, code still held
    message = await wait_for(lambda: _failed(gateway, waiting["message"]["id"]), what="failed")
    assert message["error_code"] == "code_expired"
    assert [r["To"] for r in gateway.carrier.requests] == [SAM]  # the expired code never reached the carrier


async def _failed(gateway, message_id):
    message = await gateway.message(message_id)
    return message if message["status"] == "failed" else None


async def test_five_wrong_codes_fail_the_verification(gateway):
    community = await _community(gateway)
    _, verification = await _start(gateway, community["id"])
    code = await _code(gateway)
    wrong = "000000" if code != "000000" else "111111"
    answers = [await _check(gateway, verification["id"], wrong) for _ in range(5)]
    assert [body["attempts_left"] for _, body in answers[:4]] == [4, 3, 2, 1]
    assert answers[4] == (200, {"status": "failed"})
    status, body = await _check(gateway, verification["id"], code)  # even the right code is too late
    assert (status, body["error"]["code"]) == (429, "verification_failed")


async def test_expired_code_does_not_work(gateway, db):
    community = await _community(gateway)
    _, verification = await _start(gateway, community["id"])
    code = await _code(gateway)
    await db.execute("UPDATE verifications SET expires_at = now() - interval '1 second'")
    status, body = await gateway.call("GET", f"/v1/verifications/{verification['id']}")
    assert body["status"] == "expired"
    assert await _check(gateway, verification["id"], code) == (200, {"status": "expired"})
    assert await db.fetchval("SELECT count(*) FROM verified_phones") == 0


async def test_resend_replaces_the_code(gateway):
    community = await _community(gateway)
    _, first = await _start(gateway, community["id"])
    old = await _code(gateway)
    _, second = await _start(gateway, community["id"])
    new = await _code(gateway, count=2)
    assert second["id"] == first["id"]
    if old != new:
        assert (await _check(gateway, first["id"], old))[1]["status"] == "pending"
    assert (await _check(gateway, first["id"], new))[1]["status"] == "approved"


async def test_hourly_limit_per_phone_answers_429_with_retry_after(gateway):
    community = await _community(gateway)
    for _ in range(5):
        assert (await _start(gateway, community["id"]))[0] == 201
    async with gateway.client.post("/v1/verifications", json={"community_id": community["id"], "phone": PAT},
                                   headers={"Authorization": "Bearer test-api-token"}) as response:
        body = await response.json()
        assert (response.status, body["error"]["code"]) == (429, "too_many_codes")
        assert 3500 <= int(response.headers["Retry-After"]) <= 3600


async def test_hourly_limit_per_community(start_gateway):
    gateway = await start_gateway(verification={"per_community_per_hour": 2})
    community = await _community(gateway)
    for phone in (PAT, SAM):
        assert (await _start(gateway, community["id"], phone))[0] == 201
    status, body = await _start(gateway, community["id"], "+14155552679")
    assert (status, body["error"]["code"]) == (429, "too_many_codes") and "community" in body["error"]["message"]


@pytest.mark.parametrize("phone, code", [("+1 415 555 0042", "landline"), ("+44 7400 123456", "unsupported_country"),
                                         ("12", "invalid_number")])
async def test_numbers_that_cannot_receive_codes_are_refused(gateway, db, phone, code):
    community = await _community(gateway)
    status, body = await _start(gateway, community["id"], phone)
    assert (status, body["error"]["code"]) == (422, code)
    assert await db.fetchval("SELECT count(*) FROM verifications") == 0


@pytest.mark.parametrize("payload, status, code", [
    ({"code": "12345"}, 422, "invalid_field"), ({"code": "abcdef"}, 422, "invalid_field"),
    ({"code": 123456}, 422, "invalid_field"), ({}, 422, "missing_field")])
async def test_check_validates_the_code(gateway, payload, status, code):
    community = await _community(gateway)
    _, verification = await _start(gateway, community["id"])
    got, body = await gateway.call("POST", f"/v1/verifications/{verification['id']}/check", payload)
    assert (got, body["error"]["code"]) == (status, code)
    assert (await gateway.call("POST", "/v1/verifications/999/check", {"code": "123456"}))[0] == 404


async def test_codes_are_claimed_ahead_of_relay_and_bulk(redis_client):
    queue = Outbox(redis_client, per_number_rate=1000, lease_seconds=5)
    await queue.enqueue(1, "bulk", PROXY + "1")
    await queue.enqueue(2, "relay", PROXY + "2")
    await queue.enqueue(3, "urgent", PROXY + "3")
    assert [t.priority for t in await queue.claim(3)] == ["urgent", "relay", "bulk"]
    await redis_client.delete(outbox.INFLIGHT)


async def test_approved_phone_is_verified_for_that_community_only(gateway):
    first = await _community(gateway)
    second = await gateway.community(numbers=["+14155550101"], name="Other", require_verification=True)
    _, verification = await _start(gateway, first["id"])
    await _check(gateway, verification["id"], await _code(gateway))
    status, body = await gateway.call("POST", "/v1/conversations", {
        "community_id": second["id"], "prospect": {"phone": PAT, "name": "Pat"},
        "advocate": {"phone": ALEX, "name": "Alex"}, "message": "Hi"})
    assert (status, body["error"]["code"]) == (409, "prospect_not_verified")


async def test_a_code_costs_what_the_sent_text_costs(gateway, db):
    community = await _community(gateway)
    await _start(gateway, community["id"])
    await _code(gateway)
    # 81 GSM-7 characters once identified: one segment, as sent (a non-GSM mask would have made it two).
    assert await db.fetchval("SELECT segments FROM messages WHERE kind = 'verification'") == 1

"""One-time verification codes: send a code by SMS, check it, mark the phone verified for the community."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any, Mapping

import structlog

from gateway.relay import rules as relay
from gateway.relay import segments
from gateway.context import Context
from gateway.storage.db import QUERIES
from gateway.errors import Conflict, InvalidInput, NotFound, LimitReached
from gateway.relay.phones import mask

log = structlog.get_logger(__name__)
CODE = re.compile(r"^[0-9]{6}$")
# The stored body shows this where the code goes; the code itself waits in Redis until the send. Six GSM-7
# characters, like the digits, so the stored body costs the segments the sent one will.
MASK = "******"
CODE_KEY = "gw:code:{message_id}"


def code_hash(secret: bytes, community_id: int, phone: str, code: str) -> bytes:
    """Only this keyed hash is stored: a database dump does not reveal codes without the secret."""
    return hmac.new(secret, f"{community_id}|{phone}|{code}".encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class CheckResult:
    status: str
    attempts_left: int


async def start(ctx: Context, community: Mapping[str, Any], phone: str) -> int:
    """Text a new code to a validated phone; returns the verification id. 429 past the hourly limits."""
    config = ctx.config.verification
    code = f"{secrets.randbelow(10 ** 6):06d}"
    async with ctx.pool.acquire() as conn, conn.transaction():
        await conn.execute(QUERIES.lock_community_for_verification, community["id"])
        await conn.execute(QUERIES.lock_phone_for_verification, phone)
        _check_limits(await conn.fetchrow(QUERIES.count_verification_sends, phone, community["id"]), config)
        verification_id = await conn.fetchval(QUERIES.upsert_pending_verification, community["id"], phone,
                                              code_hash(ctx.secret, community["id"], phone, code), config.ttl_minutes)
        usage = await conn.fetch(QUERIES.pool_usage, community["id"], [])
        sender, _ = relay.choose_number([r["phone"] for r in usage], [], {r["phone"]: r["open"] for r in usage})
        body = f"{MASK} is your {community['name']} verification code."
        message = await conn.fetchrow(QUERIES.insert_outbound_message, community["id"], None, "verification",
                                      "urgent", sender, phone, body, segments.count(body))
        await conn.execute(QUERIES.record_verification_send, community["id"], phone, verification_id, message["id"])
        # Before the commit: if Redis cannot keep the code, nothing is stored and the caller gets a 503.
        await ctx.redis.set(CODE_KEY.format(message_id=message["id"]), code, ex=config.ttl_minutes * 60)
    await ctx.dispatch(message, "urgent", sender)
    ctx.metrics.verifications.labels("started").inc()
    log.info("verification_started", verification_id=verification_id, phone=mask(phone))
    return verification_id


async def fill_code(ctx: Context, message_id: int, body: str) -> str | None:
    """The text to send for a verification message, or None when its code is gone (expired)."""
    code = await ctx.redis.get(CODE_KEY.format(message_id=message_id))
    return body.replace(MASK, code, 1) if code else None


async def forget_code(ctx: Context, message_id: int) -> None:
    await ctx.redis.delete(CODE_KEY.format(message_id=message_id))


def _check_limits(counts: Mapping[str, Any], config) -> None:
    if counts["phone_sends"] >= config.per_phone_per_hour:
        raise LimitReached("too_many_codes", f"at most {config.per_phone_per_hour} codes per phone per hour",
                              retry_after=max(1, int(counts["phone_wait"])))
    if counts["community_sends"] >= config.per_community_per_hour:
        raise LimitReached("too_many_codes",
                              f"at most {config.per_community_per_hour} codes per community per hour",
                              retry_after=max(1, int(counts["community_wait"])))


async def check(ctx: Context, verification_id: int, code: str) -> CheckResult:
    """Compare a code in constant time; approve, count a wrong one, or say why it cannot be checked."""
    if not CODE.match(code):
        raise InvalidInput("invalid_field", "code: expected the 6 digits that were texted")
    max_checks = ctx.config.verification.max_checks
    async with ctx.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(QUERIES.lock_verification, verification_id)
        if row is None:
            raise NotFound("verification_not_found", f"no verification {verification_id}")
        if row["status"] == "failed":
            raise LimitReached("verification_failed", "too many wrong codes; start a new verification")
        if row["status"] != "pending":
            raise Conflict("verification_not_pending", f"the verification is {row['status']}; a code works once")
        if row["is_expired"]:
            await conn.execute(QUERIES.set_verification_status, verification_id, "expired", row["attempts"])
            event, result = "expired", CheckResult("expired", 0)
        elif hmac.compare_digest(code_hash(ctx.secret, row["community_id"], row["phone"], code), row["code_hash"]):
            await conn.execute(QUERIES.set_verification_status, verification_id, "approved", row["attempts"])
            await conn.execute(QUERIES.mark_phone_verified, row["community_id"], row["phone"])
            event, result = "approved", CheckResult("approved", max_checks - row["attempts"])
        else:
            attempts = row["attempts"] + 1
            status = "failed" if attempts >= max_checks else "pending"
            await conn.execute(QUERIES.set_verification_status, verification_id, status, attempts)
            event, result = ("failed" if status == "failed" else "wrong_code"), CheckResult(status, max_checks - attempts)
    ctx.metrics.verifications.labels(event).inc()
    log.info("verification_checked", verification_id=verification_id, outcome=event)
    return result


async def get(ctx: Context, verification_id: int) -> Mapping[str, Any]:
    row = await ctx.pool.fetchrow(QUERIES.find_verification, verification_id)
    if row is None:
        raise NotFound("verification_not_found", f"no verification {verification_id}")
    return row

"""One-time verification codes: send a code by SMS, check it, mark the phone verified for the community."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis
import structlog

from gateway.config import VerificationSettings
from gateway.errors import Conflict, InvalidInput, LimitReached, NotFound
from gateway.messaging.dispatch import Dispatcher
from gateway.ops.metrics import Metrics
from gateway.relay import assignment
from gateway.relay import rules as relay
from gateway.relay.assignment import NumberUse, Placement
from gateway.relay import segments
from gateway.relay.phones import mask
from gateway.storage import communities as community_rows, messages, verifications
from gateway.storage.communities import Community
from gateway.storage.db import Executor
from gateway.storage.messages import StoredOutbound
from gateway.storage.verifications import RecentSends, Verification
from gateway.vocabulary import MessageKind, Priority, VerificationStatus

log = structlog.get_logger(__name__)
CODE = re.compile(r"^[0-9]{6}$")
# The stored body shows this where the code goes; the code itself waits in Redis until the send. Six GSM-7
# characters, like the digits, so the stored body costs the segments the sent one will.
MASK = "******"
CODE_KEY = "gw:code:{message_id}"


def code_hash(code_key: bytes, community_id: int, phone: str, code: str) -> bytes:
    """Only this keyed hash is stored: a database dump does not reveal codes without the key."""
    return hmac.new(code_key, f"{community_id}|{phone}|{code}".encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class CheckResult:
    status: VerificationStatus
    attempts_left: int


@dataclass(frozen=True)
class Started:
    """A verification just started, and the message that carries its code (queued, or stored as blocked)."""

    verification_id: int
    message: StoredOutbound


@dataclass(frozen=True)
class Verifier:
    """Sends and checks codes: what both need, built once in app.py."""

    pool: asyncpg.Pool
    redis: aioredis.Redis  # keeps each code until its message is sent
    dispatcher: Dispatcher
    metrics: Metrics
    config: VerificationSettings
    code_key: bytes  # the key of the stored code hashes (verification.secret)

    async def start(self, community: Community, phone: str) -> Started:
        """Text a new code to a validated phone; returns the verification id and its code's message.
        LimitReached past the hourly limits; a RedisError (nothing stored) when Redis cannot keep the code."""
        config = self.config
        code = f"{secrets.randbelow(10 ** 6):06d}"
        async with self.pool.acquire() as conn, conn.transaction():
            await verifications.lock_sends(conn, community_id=community.id, phone=phone)
            _check_limits(await verifications.recent_sends(conn, community_id=community.id, phone=phone), config)
            verification_id = await verifications.upsert_pending(
                conn, community_id=community.id, phone=phone, ttl_minutes=config.ttl_minutes,
                code_hash=code_hash(self.code_key, community.id, phone, code))
            usage = await community_rows.number_usage(conn, community_id=community.id, participant_ids=[])
            # An unassigned number when there is one: a reply to a code from a dedicated or a team's number would
            # open a conversation with that member or team (gateway/relay/assignment.py). A marketing number only
            # when the community has nothing else: a code the person asked for must go.
            pool = (assignment.eligible([NumberUse(n.phone, n.member, n.team_id, n.category) for n in usage],
                                        Placement())
                    or [n.phone for n in usage if n.category != "marketing"] or [n.phone for n in usage])
            sender, _ = relay.choose_number(pool, [], {n.phone: n.open for n in usage})
            body = f"{MASK} is your {community.name} verification code."
            message = await messages.insert_outbound_message(
                conn, community_id=community.id, conversation_id=None, kind=MessageKind.VERIFICATION,
                priority=Priority.URGENT, from_number=sender, to_number=phone, body=body, segments=segments.count(body))
            await verifications.record_send(conn, community_id=community.id, phone=phone,
                                            verification_id=verification_id, message_id=message.id)
            # Before the commit: if Redis cannot keep the code, nothing is stored and the caller gets a 503.
            await self.redis.set(CODE_KEY.format(message_id=message.id), code, ex=config.ttl_minutes * 60)
        await self.dispatcher.dispatch(message, Priority.URGENT, sender)
        self.metrics.verifications.labels("started").inc()
        log.info("verification_started", verification_id=verification_id, phone=mask(phone))
        return Started(verification_id, message)

    async def check(self, verification_id: int, code: str) -> CheckResult:
        """Compare a code in constant time; approve, count a wrong one, or say why it cannot be checked.
        InvalidInput for a malformed code, NotFound, LimitReached once failed, Conflict when no longer pending."""
        if not CODE.match(code):
            raise InvalidInput("invalid_field", "code: expected the 6 digits that were texted")
        async with self.pool.acquire() as conn, conn.transaction():
            row = await verifications.lock_verification(conn, verification_id=verification_id)
            if row is None:
                raise NotFound("verification_not_found", f"no verification {verification_id}")
            if row.status == VerificationStatus.FAILED:
                raise LimitReached("verification_failed", "too many wrong codes; start a new verification")
            if row.status != VerificationStatus.PENDING:
                raise Conflict("verification_not_pending", f"the verification is {row.status}; a code works once")
            event, result = await self._judge(conn, row, code)
        self.metrics.verifications.labels(event).inc()
        log.info("verification_checked", verification_id=verification_id, outcome=event)
        return result

    async def _judge(self, conn: asyncpg.Connection, row: verifications.LockedVerification,
                     code: str) -> tuple[str, CheckResult]:
        """(the metric's event, the result) for a code checked against a pending verification."""
        max_checks = self.config.max_checks
        if row.is_expired:
            await verifications.set_status(conn, verification_id=row.id, status=VerificationStatus.EXPIRED,
                                           attempts=row.attempts)
            return "expired", CheckResult(VerificationStatus.EXPIRED, 0)
        if hmac.compare_digest(code_hash(self.code_key, row.community_id, row.phone, code), row.code_hash):
            await verifications.set_status(conn, verification_id=row.id, status=VerificationStatus.APPROVED,
                                           attempts=row.attempts)
            await verifications.mark_phone_verified(conn, community_id=row.community_id, phone=row.phone)
            return "approved", CheckResult(VerificationStatus.APPROVED, max_checks - row.attempts)
        attempts = row.attempts + 1
        status = VerificationStatus.FAILED if attempts >= max_checks else VerificationStatus.PENDING
        await verifications.set_status(conn, verification_id=row.id, status=status, attempts=attempts)
        event = "failed" if status == VerificationStatus.FAILED else "wrong_code"
        return event, CheckResult(status, max_checks - attempts)


async def fill_code(redis: aioredis.Redis, *, message_id: int, body: str) -> str | None:
    """The text to send for a verification message, or None when its code is gone (expired)."""
    code = await redis.get(CODE_KEY.format(message_id=message_id))
    return body.replace(MASK, code, 1) if code else None


async def forget_code(redis: aioredis.Redis, *, message_id: int) -> None:
    await redis.delete(CODE_KEY.format(message_id=message_id))


def _check_limits(recent: RecentSends, config: VerificationSettings) -> None:
    if recent.phone_sends >= config.per_phone_per_hour:
        raise LimitReached("too_many_codes", f"at most {config.per_phone_per_hour} codes per phone per hour",
                           retry_after=max(1, int(recent.phone_wait)))
    if recent.community_sends >= config.per_community_per_hour:
        raise LimitReached("too_many_codes", f"at most {config.per_community_per_hour} codes per community per hour",
                           retry_after=max(1, int(recent.community_wait)))


async def get(db: Executor, verification_id: int) -> Verification:
    """NotFound when there is no such verification."""
    row = await verifications.find_verification(db, verification_id=verification_id)
    if row is None:
        raise NotFound("verification_not_found", f"no verification {verification_id}")
    return row

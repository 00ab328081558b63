"""Verifications: one-time codes sent, their hourly limits, checks, and the phones they verified."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from gateway.storage.db import QUERIES, Executor
from gateway.vocabulary import MessageStatus, VerificationStatus


@dataclass(frozen=True, slots=True)
class RecentSends:
    """Codes sent in the last hour, and seconds until the oldest of each window leaves it (None: none sent)."""

    phone_sends: int  # to this phone, by any community
    community_sends: int  # by this community, to any phone
    phone_wait: float | None
    community_wait: float | None


@dataclass(frozen=True, slots=True)
class LockedVerification:
    """A verification locked for a check (lock_verification.sql)."""

    id: int
    community_id: int
    phone: str
    code_hash: bytes
    status: VerificationStatus
    attempts: int  # wrong codes so far
    is_expired: bool


@dataclass(frozen=True, slots=True)
class Verification:
    """A verification as the API shows it, with its code message's status (find_verification.sql)."""

    id: int
    community_id: int
    phone: str
    status: VerificationStatus  # as stored: a pending one may have expired (is_expired)
    is_expired: bool
    expires_at: datetime
    created_at: datetime
    message_id: int | None
    message_status: MessageStatus | None
    message_reason: str | None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Verification:
        """From a row of find_verification.sql (or list_verifications.sql, which has its columns)."""
        status = row["message_status"]
        return cls(row["id"], row["community_id"], row["phone"], VerificationStatus(row["status"]),
                   row["is_expired"], row["expires_at"], row["created_at"], row["message_id"],
                   None if status is None else MessageStatus(status), row["message_reason"])


async def lock_sends(db: Executor, *, community_id: int, phone: str) -> None:
    """Serialise code sends of the community, then to the phone, until the caller's transaction ends (always
    in that order, so two starts never wait on each other in a cycle)."""
    await db.execute(QUERIES.lock_community_for_verification, community_id)
    await db.execute(QUERIES.lock_phone_for_verification, phone)


async def recent_sends(db: Executor, *, community_id: int, phone: str) -> RecentSends:
    row = await db.fetchrow(QUERIES.count_verification_sends, phone, community_id)
    phone_wait, community_wait = row["phone_wait"], row["community_wait"]  # numeric: Decimal
    return RecentSends(row["phone_sends"], row["community_sends"], None if phone_wait is None else float(phone_wait),
                       None if community_wait is None else float(community_wait))


async def upsert_pending(db: Executor, *, community_id: int, phone: str, code_hash: bytes, ttl_minutes: int) -> int:
    """A new code for (community, phone): a pending verification takes it (its old code stops working), or a
    new one is made. Returns the verification id."""
    return await db.fetchval(QUERIES.upsert_pending_verification, community_id, phone, code_hash, ttl_minutes)


async def record_send(db: Executor, *, community_id: int, phone: str, verification_id: int, message_id: int) -> None:
    """Count the send for the hourly limits and link the verification to its message."""
    await db.execute(QUERIES.record_verification_send, community_id, phone, verification_id, message_id)


async def lock_verification(db: Executor, *, verification_id: int) -> LockedVerification | None:
    row = await db.fetchrow(QUERIES.lock_verification, verification_id)
    if row is None:
        return None
    return LockedVerification(row["id"], row["community_id"], row["phone"], row["code_hash"],
                              VerificationStatus(row["status"]), row["attempts"], row["is_expired"])


async def set_status(db: Executor, *, verification_id: int, status: VerificationStatus, attempts: int) -> None:
    await db.execute(QUERIES.set_verification_status, verification_id, status, attempts)


async def mark_phone_verified(db: Executor, *, community_id: int, phone: str) -> None:
    await db.execute(QUERIES.mark_phone_verified, community_id, phone)


async def is_phone_verified(db: Executor, *, community_id: int, phone: str) -> bool:
    return await db.fetchval(QUERIES.is_phone_verified, community_id, phone)


async def delete_old_verification_sends(db: Executor) -> None:
    """Sends older than a day (the hourly limits look back one hour)."""
    await db.execute(QUERIES.delete_old_verification_sends)


async def find_verification(db: Executor, *, verification_id: int) -> Verification | None:
    row = await db.fetchrow(QUERIES.find_verification, verification_id)
    return None if row is None else Verification.of(row)

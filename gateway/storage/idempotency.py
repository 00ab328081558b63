"""Idempotency-Key answers (table idempotency_keys): claimed before a request runs, answered after."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.storage.db import QUERIES, Executor


@dataclass(frozen=True, slots=True)
class KeptAnswer:
    """What a key holds: the first request's hash and, once it answered, the answer (status None: in flight)."""

    request_hash: bytes
    status: int | None
    content_type: str | None
    body: bytes | None


async def claim(db: Executor, *, caller: str, key: str, request_hash: bytes, ttl: float, lease: float) -> bool:
    """Claim the key for a request about to run (ttl, lease: seconds); False when another request holds it or
    its answer is kept."""
    return bool(await db.fetchval(QUERIES.claim_idempotency_key, caller, key, request_hash, ttl, lease))


async def find(db: Executor, *, caller: str, key: str) -> KeptAnswer | None:
    """The unexpired key; None when there is none (it expired or was released since the claim failed)."""
    row = await db.fetchrow(QUERIES.find_idempotency_key, caller, key)
    return None if row is None else KeptAnswer(row["request_hash"], row["status"], row["content_type"], row["body"])


async def answer(db: Executor, *, caller: str, key: str, status: int, content_type: str, body: bytes) -> None:
    await db.execute(QUERIES.store_idempotent_answer, caller, key, status, content_type, body)


async def renew(db: Executor, *, caller: str, key: str, lease: float) -> None:
    """Hold a claim whose request still runs for lease more seconds."""
    await db.execute(QUERIES.renew_idempotency_lease, caller, key, lease)


async def release(db: Executor, *, caller: str, key: str) -> None:
    """Drop a claim whose request left nothing worth replaying, so a retry runs again."""
    await db.execute(QUERIES.release_idempotency_key, caller, key)


async def delete_expired(db: Executor, *, limit: int) -> int:
    """Delete up to `limit` expired keys; returns how many."""
    return await db.fetchval(QUERIES.delete_expired_idempotency_keys, limit)

"""Idempotency-Key on every POST under /v1/ (README, "Internal API"): a retry answers what the first answered.

Per token (its name) and key: the first request claims the key in Postgres (a row, unique per caller and key,
so every gateway process sharing the database agrees), runs, and stores its answer; a retry with the same
method, path, query and body gets that answer back (status and body, with Idempotent-Replayed: true) and runs
nothing; the same key with anything else answers 422 idempotency_key_reused; a retry while the first is still
running answers 409 idempotency_key_in_flight with Retry-After: 1. Answers are kept for server.idempotency_ttl
seconds (24 hours).

Kept: every answer below 500 except 429 (a limit says "later", so a retry should run again). Not kept: 5xx and
crashes, whose key is released so that a retry runs the request again (a 5xx changed nothing by the rules, see
gateway/errors.py). The one gap: a process that dies after the change is committed and before the answer is
stored. Its claim stays "in flight" until server.idempotency_lease (60 s) runs out; a retry after that runs the
request again. Creating a conversation is still refused then (conversation_exists, 409: one open per pair), but a
message written into one could be sent twice; the window is the few milliseconds between the handler's commit
and the answer's UPDATE. A request that merely runs long keeps its claim: its lease is renewed every third of
server.idempotency_lease while it runs, so only a dead process's claim runs out.
"""

from __future__ import annotations

import asyncio
import hashlib

import structlog
from aiohttp import web

from gateway.api.scope import caller
from gateway.errors import GatewayError, InvalidInput, Malformed
from gateway.keys import CONFIG, POOL
from gateway.ops.logs import clip
from gateway.ops.middleware import error_body, refusal, streamed
from gateway.storage import idempotency as store
from gateway.storage.db import Executor

log = structlog.get_logger(__name__)
HEADER = "Idempotency-Key"
MAX_KEY = 255


@web.middleware
async def idempotency_middleware(request: web.Request, handler):
    keys = request.headers.getall(HEADER, [])
    token = caller(request)
    # A streamed body (a CSV import, idempotent by itself) is never read whole, so never hashed: no key there.
    if not keys or request.method != "POST" or token is None or not request.path.startswith("/v1/") \
            or streamed(request):
        return await handler(request)
    key = keys[0]  # two keys are refused: which one would a retry carry?
    if len(keys) > 1 or not 1 <= len(key) <= MAX_KEY or not all(32 < ord(c) < 127 for c in key):
        raise Malformed("invalid_idempotency_key", f"{HEADER}: one, of 1 to {MAX_KEY} printable ASCII characters, no "
                                                   "spaces")
    digest = hashlib.sha256(b"\0".join([request.method.encode(), request.rel_url.raw_path_qs.encode(),
                                        await request.read()])).digest()
    settings, pool = request.app[CONFIG].server, request.app[POOL]
    if not await store.claim(pool, caller=token.name, key=key, request_hash=digest, ttl=settings.idempotency_ttl,
                             lease=settings.idempotency_lease):
        return await _replay(pool, token.name, key, digest)
    renewing = asyncio.create_task(_renew(pool, token.name, key, settings.idempotency_lease))
    try:
        try:
            response = await handler(request)
        except GatewayError as exc:
            response = refusal(request, exc)
    except BaseException:
        await _release(pool, token.name, key)
        raise
    finally:
        renewing.cancel()
        await asyncio.gather(renewing, return_exceptions=True)
    body = response.body if isinstance(response, web.Response) else None
    if response.status >= 500 or response.status == 429 or not isinstance(body, (bytes, type(None))):
        await _release(pool, token.name, key)
    else:
        await store.answer(pool, caller=token.name, key=key, status=response.status,
                           content_type=response.headers.get("Content-Type", ""), body=body or b"")
    return response


async def _replay(pool: Executor, caller_name: str, key: str, digest: bytes) -> web.Response:
    kept = await store.find(pool, caller=caller_name, key=key)
    if kept is not None and kept.request_hash != digest:
        raise InvalidInput("idempotency_key_reused", f"this {HEADER} was used with another request (method, path "
                                                     "or body); use a new key for a new request")
    if kept is None or kept.status is None:
        response = error_body(409, "idempotency_key_in_flight",
                              f"a request with this {HEADER} is still running; retry shortly")
        response.headers["Retry-After"] = "1"
        return response
    log.info("idempotent_replayed", status=kept.status, caller=caller_name, key=clip(key, 40))
    headers = {"Idempotent-Replayed": "true"}
    if kept.content_type:
        headers["Content-Type"] = kept.content_type
    return web.Response(status=kept.status, body=kept.body or None, headers=headers)


async def _renew(pool: Executor, caller_name: str, key: str, lease: float) -> None:
    """Every third of the lease, hold the claim for a whole lease again; runs until the request ends."""
    while True:
        await asyncio.sleep(lease / 3)
        try:
            await store.renew(pool, caller=caller_name, key=key, lease=lease)
        except Exception as exc:  # Postgres away: try again next time; the lease still holds a while
            log.warning("idempotency_lease_not_renewed", error=type(exc).__name__)


async def _release(pool: Executor, caller_name: str, key: str) -> None:
    try:
        await store.release(pool, caller=caller_name, key=key)
    except Exception as exc:  # Postgres away: the claim's lease runs out instead
        log.warning("idempotency_key_not_released", error=type(exc).__name__)


async def forget_expired(pool: Executor, batch: int = 5000) -> int:
    """Delete keys past their time, a batch at a time (a background task, once per period across processes)."""
    total = 0
    while (deleted := await store.delete_expired(pool, limit=batch)) > 0:
        total += deleted
        if deleted < batch:
            break
    return total

"""Erasing everything about one phone in a community, as privacy law's right to erasure asks (GDPR Art. 17;
CCPA/CPRA's right to delete), leaving counts and an audit row (README "Retention and erasure").

What goes: the phone's open conversations close (reason erased) and leave the routing table; what waits to go to
it is canceled; every message it sent or was sent, and every message of a conversation it took part in, loses its
body and pictures (stored files deleted); wherever a row names the phone, a pseudonym ("erased-" and random hex)
takes its place, so rows, statuses and counts stay; its contact, verifications, verified mark, allow-list entry,
preference history, WhatsApp state, team memberships, dedicated numbers, auto-reply marks, line type, the events
and kept API answers naming it are deleted. An opt-out (or a permanent do-not-disturb) stays as the phone and that
refusal alone: erasing must not make a phone that said STOP textable again (GDPR Art. 17(3)(b), a legal
obligation: the TCPA's opt-out).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import asyncpg
import structlog

from gateway.errors import NotFound
from gateway.routing.table import RouteTable
from gateway.storage import communities as rows, erasure as storage, line_types
from gateway.storage.erasure import Erasure
from gateway.verification.line_types import LineTypes
from gateway.vocabulary import Erased

log = structlog.get_logger(__name__)


def phone_key(secret: str) -> bytes:
    """The key of erasures' phone hashes, derived from hooks.secret (GATEWAY_WEBHOOK_SECRET)."""
    return hmac.new(secret.encode(), b"gateway erasure phone hash", hashlib.sha256).digest()


def phone_hash(key: bytes, community_id: int, phone: str) -> bytes:
    return hmac.new(key, f"{community_id}|{phone}".encode(), hashlib.sha256).digest()


async def erase(pool: asyncpg.Pool, routes: RouteTable, cached: LineTypes, key: bytes, community_id: int,
                phone: str, requested_by: str, callers: list[str]) -> Erasure:
    """Erase phone (E.164) from the community, in one transaction under the community's and the phone's locks
    (no conversation can start with it meanwhile), then Redis (routes, the cached line type); returns the audit
    row. callers: the API tokens whose kept
    answers may name the phone. NotFound (community_not_found)."""
    pseudonym = f"erased-{secrets.token_hex(6)}"
    async with pool.acquire() as conn, conn.transaction():
        if await rows.lock_community(conn, community_id=community_id) is None:
            raise NotFound("community_not_found", f"no community {community_id}")
        await rows.lock_phones_for_numbers(conn, phones=[phone])
        closed = await storage.close_conversations_of_phone(conn, community_id=community_id, phone=phone,
                                                            reason=Erased.ERASED)
        counts = {"conversations_closed": len(closed),
                  "messages_canceled": await storage.cancel_unsent_to_phone(
                      conn, community_id=community_id, phone=phone, reason=Erased.ERASED)}
        counts |= await storage.redact_phone_messages(conn, community_id=community_id, phone=phone,
                                                      pseudonym=pseudonym)
        counts |= await storage.erase_phone_records(conn, community_id=community_id, phone=phone, pseudonym=pseudonym)
        counts |= await storage.erase_phone_traces(conn, community_id=community_id, phone=phone, callers=callers)
        counts["line_types"] = await line_types.forget_line_type(conn, phone=phone)
        record = await storage.insert_erasure(conn, community_id=community_id, requested_by=requested_by,
                                              phone_hash=phone_hash(key, community_id, phone), counts=counts)
    for conversation in closed:
        await routes.remove(conversation)
    await cached.forget_cached(phone)
    log.info("phone_erased", community_id=community_id, erasure_id=record.id, messages=counts["messages"],
             conversations_closed=len(closed))
    return record

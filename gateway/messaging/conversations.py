"""Conversations: start one on a pool number, write into it from the web site, close it, expire idle ones."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import structlog
from redis.exceptions import RedisError

from gateway.relay import rules as relay
from gateway.relay import segments
from gateway.context import Context
from gateway.storage.db import QUERIES
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.ops.logs import clip
from gateway.relay.phones import mask
from gateway.routing.table import OpenConversation

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Person:
    phone: str  # E.164
    name: str


def _open_conversation(row: asyncpg.Record) -> OpenConversation:
    return OpenConversation(row["id"], row["proxy_number"], row["code"], row["prospect_phone"],
                            row["prospect_name"], row["advocate_phone"], row["advocate_name"])


async def start(ctx: Context, community_id: int, prospect: Person, advocate: Person,
                message: str) -> tuple[int, asyncpg.Record]:
    """Open a conversation and queue the advocate's notification; returns its id and the notification."""
    if prospect.phone == advocate.phone:
        raise InvalidInput("same_participant", "prospect and advocate must have different phone numbers")
    async with ctx.pool.acquire() as conn, conn.transaction():
        community = await conn.fetchrow(QUERIES.lock_community, community_id)
        if community is None:
            raise NotFound("community_not_found", f"no community {community_id}")
        if community["require_verification"] and not await conn.fetchval(QUERIES.is_phone_verified, community_id,
                                                                          prospect.phone):
            raise Conflict("prospect_not_verified", "the prospect's phone has not been verified (POST /v1/verifications)")
        conversation, notification = await _open(conn, community, prospect, advocate, message)
    await ctx.routes.add(conversation)
    structlog.contextvars.bind_contextvars(conversation_id=conversation.id)
    await ctx.dispatch(notification, "relay", conversation.proxy_number, relays=(advocate.phone, conversation.id))
    log.info("conversation_started", proxy=mask(conversation.proxy_number), code=conversation.code)
    return conversation.id, notification


async def _open(conn: asyncpg.Connection, community: asyncpg.Record, prospect: Person, advocate: Person,
                message: str) -> tuple[OpenConversation, asyncpg.Record]:
    """Inside the community's lock: choose the number and code, store the conversation and notification."""
    community_id = community["id"]
    # Upserts first: an error below rolls them back with the transaction.
    prospect_id = await conn.fetchval(QUERIES.upsert_participant, community_id, prospect.phone, prospect.name)
    advocate_id = await conn.fetchval(QUERIES.upsert_participant, community_id, advocate.phone, advocate.name)
    usage = await conn.fetch(QUERIES.pool_usage, community_id, [prospect_id, advocate_id])
    if not usage:
        raise Conflict("community_has_no_numbers", "the community owns no phone numbers")
    if {prospect.phone, advocate.phone} & {row["phone"] for row in usage}:
        raise InvalidInput("participant_is_proxy", "a participant's phone is one of the community's numbers")
    existing = await conn.fetchval(QUERIES.find_open_conversation_between, community_id, prospect_id, advocate_id)
    if existing is not None:
        raise Conflict("conversation_exists", f"conversation {existing} between them is already open",
                       conversation_id=existing)
    number, _shared = relay.choose_number([r["phone"] for r in usage], [r["phone"] for r in usage if r["busy"]],
                                          {r["phone"]: r["open"] for r in usage})
    taken = [r["code"] for r in await conn.fetch(QUERIES.open_codes_on_number, number)]
    code = relay.new_code(taken)
    conversation_id = await conn.fetchval(QUERIES.insert_conversation, community_id, number, prospect_id,
                                          advocate_id, code)
    advocate_open = await conn.fetchval(QUERIES.count_open_for_participant, number, advocate.phone)
    body = relay.notification_body(message, prospect_name=prospect.name, community_name=community["name"],
                                   code=code, advocate_open=advocate_open)
    notification = await conn.fetchrow(QUERIES.insert_outbound_message, community_id, conversation_id,
                                       "notification", "relay", number, advocate.phone, body, segments.count(body))
    conversation = OpenConversation(conversation_id, number, code, prospect.phone, prospect.name, advocate.phone,
                                    advocate.name)
    return conversation, notification


def check_fits(text: str, room: int, field: str) -> None:
    """422 message_too_long when text would push one SMS over the carrier's limit once our words (name, code,
    reply hint, sender identification) are added; the answer says how many characters fit."""
    if segments.length(text) > room:
        raise InvalidInput("message_too_long",
                           f"{field}: {segments.length(text)} characters, but at most {max(room, 0)} fit in one text "
                           f"of {segments.MAX_BODY} with the names, code and sender identification we add "
                           f"(an emoji counts two)", max_length=max(room, 0))


async def identification(ctx: Context, proxy: str) -> tuple[int, int]:
    """What the sender identification of the community owning this number may add to a text (relay.py)."""
    row = await ctx.pool.fetchrow(QUERIES.find_sender_identification, proxy)
    return relay.identification_cost(row["sender_id_template"], row["sender_name"]) if row else (0, 1)


async def get(ctx: Context, conversation_id: int) -> asyncpg.Record:
    row = await ctx.pool.fetchrow(QUERIES.find_conversation, conversation_id)
    if row is None:
        raise NotFound("conversation_not_found", f"no conversation {conversation_id}")
    return row


async def write(ctx: Context, conversation_id: int, author: str, body: str) -> int:
    """A message written on the web site by one party, relayed by SMS to the other; returns its id."""
    row = await get(ctx, conversation_id)
    if row["status"] != "open":
        raise Conflict("conversation_not_open", f"conversation {conversation_id} is {row['status']}")
    other = "advocate" if author == "prospect" else "prospect"
    recipient, sender_name = row[f"{other}_phone"], row[f"{author}_name"]
    proxy = row["proxy_number"]
    check_fits(body, relay.relay_room(code=row["code"], sender_name=sender_name,
                                      identification=await identification(ctx, proxy)), "body")
    recipient_open = await ctx.routes.open_count(proxy, recipient)
    text = relay.relayed_body(body, code=row["code"], sender_name=sender_name, recipient_open=recipient_open)
    async with ctx.pool.acquire() as conn, conn.transaction():
        if await conn.fetchval(QUERIES.touch_conversation, conversation_id) is None:
            raise Conflict("conversation_not_open", f"conversation {conversation_id} is no longer open")
        message = await conn.fetchrow(QUERIES.insert_outbound_message, row["community_id"], conversation_id,
                                      "relay", "relay", proxy, recipient, text, segments.count(text))
    if await ctx.dispatch(message, "relay", proxy, relays=(recipient, conversation_id)):
        log.info("message_relayed", conversation_id=conversation_id, relayed_message_id=message["id"], source="api")
    return message["id"]


async def close(ctx: Context, conversation_id: int, reason: str = "closed") -> asyncpg.Record:
    """Close an open conversation and remove its routes; closing a closed one changes nothing."""
    row = await get(ctx, conversation_id)
    if await ctx.pool.fetchval(QUERIES.close_conversation, conversation_id, reason) is not None:
        await ctx.routes.remove(_open_conversation(row))
        log.info("conversation_closed", conversation_id=conversation_id, reason=clip(reason))
    return await get(ctx, conversation_id)


async def expire_idle(ctx: Context, batch: int = 500) -> int:
    """Expire conversations idle past their community's inactivity_days; returns how many."""
    total = 0
    while True:
        rows = await ctx.pool.fetch(QUERIES.expire_idle_conversations, batch)
        for row in rows:
            try:
                await ctx.routes.remove(_open_conversation(row))
            except RedisError:
                raise
            except Exception:
                # One conversation whose routes cannot be removed must not leave the others' routes in place.
                ctx.metrics.rows_skipped.labels("expiry").inc()
                log.exception("expired_routes_not_removed", conversation_id=row["id"])
            log.info("conversation_expired", conversation_id=row["id"])
        total += len(rows)
        ctx.metrics.expired.inc(len(rows))
        if len(rows) < batch:
            return total

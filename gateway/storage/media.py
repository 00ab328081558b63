"""Inbound attachments (message_media): stored as pending with their text (store_relayed_message.sql), claimed
and fetched in the background, stored or refused, the copies they held released, served, and deleted by
retention."""

from __future__ import annotations

from typing import NamedTuple

from gateway.storage.db import QUERIES, Executor
from gateway.storage.messages import StoredOutbound
from gateway.vocabulary import Channel, MediaRefusal, MediaState, Priority


class Claimed(NamedTuple):
    """An attachment claimed for one fetch (claim_media_fetches.sql)."""

    id: int
    message_id: int  # the inbound text
    position: int  # 1-based
    source_url: str  # the carrier's URL: never logged
    attempts: int  # this one included
    carrier: str | None  # the carrier of the number the text came to; None: the gateway's default
    channel: Channel = Channel.SMS  # the channel the text came on: whose limits the attachment is checked against


class Locked(NamedTuple):
    """The inbound text of an attachment being finished, locked (lock_media_message.sql)."""

    id: int
    from_number: str  # the sender
    to_number: str  # the community's number
    community_id: int | None
    conversation_id: int | None
    stored_bytes: int  # what its attachments stored so far
    conversation_open: bool = True  # False once its conversation ended (its waiting copies were canceled)


class Progress(NamedTuple):
    """What became of a text's attachments (count_pending_media.sql): the refused and failed ones by position."""

    pending: int
    stored: int
    total: int
    refused: list[tuple[int, MediaRefusal, str | None, int | None]]  # (position, why, content type, size)


class Released(NamedTuple):
    """A copy released once its text's attachments were done: queued, held for the intercept, or canceled."""

    message: StoredOutbound
    priority: Priority
    from_number: str
    to_number: str
    conversation_id: int


class Attachment(NamedTuple):
    """An attachment as the API and the media page show it (no bytes)."""

    id: int
    position: int
    state: MediaState
    refusal: MediaRefusal | None
    content_type: str | None
    size: int | None
    sha256: str | None


class ToSend(NamedTuple):
    """A stored picture an outbound copy carries (list_media_to_send.sql)."""

    id: int
    content_type: str
    size: int


class Content(NamedTuple):
    id: int
    state: MediaState
    content_type: str | None
    sha256: str | None
    content: bytes | None  # None once deleted, or never stored


async def claim_fetches(db: Executor, *, limit: int, lease_seconds: float) -> list[Claimed]:
    rows = await db.fetch(QUERIES.claim_media_fetches, limit, lease_seconds)
    return [Claimed(r["id"], r["message_id"], r["position"], r["source_url"], r["attempts"], r["carrier"],
                    Channel(r["channel"])) for r in rows]


async def lock_message(db: Executor, *, message_id: int) -> Locked | None:
    row = await db.fetchrow(QUERIES.lock_media_message, message_id)
    return None if row is None else Locked(row["id"], row["from_number"], row["to_number"], row["community_id"],
                                           row["conversation_id"], row["stored_bytes"], row["conversation_open"])


async def store_media(db: Executor, *, media_id: int, content_type: str, content: bytes, sha256: str) -> bool:
    """Keep a fetched attachment; False when another process finished it first."""
    return await db.fetchval(QUERIES.store_media, media_id, content_type, len(content), sha256, content) is not None


async def refuse_media(db: Executor, *, media_id: int, state: MediaState, refusal: MediaRefusal,
                       content_type: str | None, size: int | None, error: str | None) -> bool:
    """Mark an attachment refused or failed; False when another process finished it first."""
    return await db.fetchval(QUERIES.refuse_media, media_id, state, refusal, content_type, size, error) is not None


async def defer_fetch(db: Executor, *, media_id: int, retry_in: float, error: str) -> None:
    await db.execute(QUERIES.defer_media_fetch, media_id, retry_in, error)


async def progress(db: Executor, *, message_id: int) -> Progress:
    row = await db.fetchrow(QUERIES.count_pending_media, message_id)
    refused = [(position, MediaRefusal(why), kind, size) for position, why, kind, size in zip(
        row["positions"], row["refusals"], row["types"], row["sizes"])]
    return Progress(row["pending"], row["stored"], row["total"], refused)


async def release_held(db: Executor, *, message_id: int) -> tuple[list[Released], int | None]:
    """Release the copies awaiting this text's attachments (none still pending); with the intercept callback
    made for them, if the community has an intercept URL."""
    rows = await db.fetch(QUERIES.release_media_held_messages, message_id)
    released = [Released(StoredOutbound.of(r), Priority(r["priority"]), r["from_number"], r["to_number"],
                         r["conversation_id"]) for r in rows]
    return released, (rows[0]["intercept_id"] if rows else None)


async def list_to_send(db: Executor, *, message_id: int) -> list[ToSend]:
    """Each stored picture an outbound message carries, in order."""
    return [ToSend(r["id"], r["content_type"], r["size"]) for r in await db.fetch(QUERIES.list_media_to_send, message_id)]


async def list_attachments(db: Executor, *, message_id: int) -> list[Attachment]:
    rows = await db.fetch(QUERIES.list_message_media, message_id)
    return [Attachment(r["id"], r["position"], MediaState(r["state"]),
                       MediaRefusal(r["refusal"]) if r["refusal"] else None, r["content_type"], r["size"],
                       r["sha256"]) for r in rows]


async def find_content(db: Executor, *, media_id: int) -> Content | None:
    row = await db.fetchrow(QUERIES.find_media_content, media_id)
    return None if row is None else Content(row["id"], MediaState(row["state"]), row["content_type"],
                                            row["sha256"], row["content"])


async def delete_expired(db: Executor, *, retention_days: int, limit: int) -> int:
    """Delete the bytes of attachments whose conversation closed over retention_days ago; how many."""
    return await db.fetchval(QUERIES.delete_expired_media, retention_days, limit)


async def store_upload(db: Executor, *, community_id: int, content_type: str, content: bytes,
                       sha256: str) -> Attachment:
    """Keep a platform's upload for its community until a message names it."""
    r = await db.fetchrow(QUERIES.store_uploaded_media, community_id, content_type, len(content), sha256, content)
    return Attachment(r["id"], r["position"], MediaState(r["state"]), None, r["content_type"], r["size"], r["sha256"])


async def attach_uploads(db: Executor, *, message_id: int, community_id: int,
                         media_ids: list[int]) -> tuple[int, int]:
    """Make the community's unused uploads the message's pictures, in order; (how many were attached, their bytes
    together)."""
    row = await db.fetchrow(QUERIES.attach_uploaded_media, message_id, community_id, media_ids)
    return row["attached"], row["bytes"]


async def share_media(db: Executor, *, carrier_id: int, message_ids: list[int]) -> None:
    """The messages carry the pictures message carrier_id carries (a group's copies of one text)."""
    await db.execute(QUERIES.share_media, carrier_id, message_ids)

"""Fetching inbound attachments from the carrier, in the background, in every process.

The webhook only stores the text, its copies (held, awaiting_media) and one pending row per attachment
(store_relayed_message.sql): a carrier times out in 10-15 s, and a fetch may take longer. Here any process claims
due rows (a lease: claim_media_fetches.sql), fetches each with its carrier's credentials (redirects followed),
checks it against its channel's limits (MMS's media.*, WhatsApp's whatsapp.*) and its bytes against its type, and
stores it, or refuses it; a failed fetch is tried again with backoff and
given up after media.fetch_attempts. When a text's last attachment is done, in the same transaction, its copies
are released (with the pictures: gateway/media/outgoing.py attaches them at send time) and the sender is told,
once, what was not relayed. The carrier's copy is then deleted where its API allows.
"""

from __future__ import annotations

import asyncio
import hashlib
from urllib.parse import urljoin, urlsplit
from dataclasses import dataclass, field

import aiohttp
import asyncpg
import structlog

from gateway.carriers import Carrier, Carriers
from gateway.config import MediaSettings, WhatsAppSettings
from gateway.media import rules
from gateway.messaging.dispatch import Dispatcher
from gateway.ops.logs import clip
from gateway.ops.metrics import Metrics
from gateway.ops.tasks import AWAY, stop_if_cancelled
from gateway.relay import segments
from gateway.storage import communities
from gateway.storage import media as storage
from gateway.storage import messages
from gateway.storage.media import Claimed, Progress, Released
from gateway.storage.messages import StoredOutbound
from gateway.vocabulary import Channel, MediaRefusal, MediaState, MessageKind, MessageStatus, Priority

log = structlog.get_logger(__name__)
CONCURRENCY = 4  # fetches at once per process: each holds up to its channel's largest file in memory (16 MB)
CHUNK = 65536
MAX_REDIRECTS = 5
MAX_SIZE = 2 ** 31 - 1  # message_media.size
REDIRECTS = frozenset({301, 302, 303, 307, 308})
LEASE_MARGIN = 5.0  # seconds past media.fetch_timeout


class FetchFailed(Exception):
    """The carrier did not give the file (an answer other than 200, a network error, a timeout): try again."""


class NotAllowed(Exception):
    """A redirect led where the gateway does not fetch from (an internal address, another scheme): failed at once."""


class Oversized(Exception):
    """The file is over media.max_file_bytes (by its Content-Length or its bytes): refused without keeping it."""

    def __init__(self, size: int) -> None:
        # None past what message_media.size (integer) holds: a Content-Length of gigabytes is a lie or endless.
        self.size = size if size <= MAX_SIZE else None


@dataclass
class Fetcher:
    pool: asyncpg.Pool
    session: aiohttp.ClientSession
    carriers: Carriers
    dispatcher: Dispatcher
    metrics: Metrics
    settings: MediaSettings
    default_carrier: str
    due: asyncio.Event  # set when this process stores a text with media (Receiver.media_due)
    intercepts_due: asyncio.Event  # set when released copies wait for an intercept (Receiver.callbacks_due)
    whatsapp: WhatsAppSettings = field(default_factory=WhatsAppSettings)
    limits: dict[Channel, rules.Limits] = field(init=False)  # an attachment is held to its channel's
    hosts: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.limits = rules.channel_limits(self.settings, self.whatsapp)
        self.hosts = rules.parse_types(self.settings.fetch_hosts)  # empty: each carrier's media_hosts

    async def run(self) -> None:
        """Claim and fetch for as long as the task runs: up to CONCURRENCY fetches side by side, a freed slot taken
        at once (one hanging file holds up only its own slot, not the others' pictures)."""
        running: set[asyncio.Task] = set()
        try:
            while True:
                room = CONCURRENCY - len(running)
                if room == 0:
                    await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    continue
                claimed = await self._claim(room)
                for item in claimed:
                    task = asyncio.create_task(self.fetch_one(item))
                    running.add(task)
                    task.add_done_callback(running.discard)
                stop_if_cancelled()
                if len(claimed) < room:  # nothing more due: wait for a text with media, a poll, or a free slot
                    self.due.clear()
                    await self._idle(running)
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def _claim(self, limit: int) -> list[Claimed]:
        try:
            return await storage.claim_fetches(self.pool, limit=limit, lease_seconds=self._lease())
        except AWAY as exc:  # Postgres away: the rows wait there; look again after a poll
            self.metrics.task_failures.labels("media_fetch").inc()
            log.warning("media_claim_failed", error=type(exc).__name__)
            return []

    async def _idle(self, running: set[asyncio.Task]) -> None:
        waiter = asyncio.ensure_future(self.due.wait())
        try:
            await asyncio.wait({waiter, *running}, timeout=self.settings.poll_interval,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()

    def _lease(self) -> float:
        """Longer than a fetch may take (its timeout), with a margin for finishing it: a process killed mid-fetch
        leaves the row to another this long after it was claimed."""
        return self.settings.fetch_timeout + LEASE_MARGIN

    async def fetch_one(self, item: Claimed) -> None:
        """One try at one attachment. A crash counts as a try (the claim counted it): deferred like a failed
        fetch and given up after media.fetch_attempts, so an attachment that always crashes cannot hold its text
        forever; when even that fails (Postgres away), the lease brings it back to any process."""
        with structlog.contextvars.bound_contextvars(message_id=item.message_id, media_id=item.id):
            try:
                await self._fetch(item)
            except Exception:
                self.metrics.rows_skipped.labels("media_fetch").inc()
                log.exception("media_fetch_crashed")
                try:
                    await self._retry(item, "crashed")
                except Exception:
                    log.exception("media_fetch_crash_not_recorded")

    async def _fetch(self, item: Claimed) -> None:
        carrier = self.carriers.find(item.carrier or self.default_carrier)
        if carrier is None:
            return await self._retry(item, "carrier_not_served")
        hosts = self.hosts or tuple(carrier.media_hosts)
        if not rules.may_fetch(item.source_url, hosts):
            log.warning("media_host_not_allowed", host=clip(rules.url_host(item.source_url), 80))
            await self._finish(item, None, None, (MediaRefusal.FETCH_FAILED, None), "host not in media.fetch_hosts")
            return
        try:
            content_type, content = await self._download(carrier, item.source_url, hosts, self.limits[item.channel])
        except Oversized as exc:
            content_type, content, refused = None, None, (MediaRefusal.TOO_LARGE, exc.size)
        except FetchFailed as exc:
            return await self._retry(item, str(exc))
        except NotAllowed as exc:  # asking again would lead to the same place: failed at once
            await self._finish(item, None, None, (MediaRefusal.FETCH_FAILED, None), str(exc))
            return
        else:
            refused = None
        if await self._finish(item, content_type, content, refused):
            # The carrier gave the file (kept or refused): the gateway needs its copy no more.
            if await carrier.delete_media(item.source_url):
                self.metrics.media.labels("carrier_deleted").inc()

    async def _download(self, carrier: Carrier, url: str, hosts: tuple[str, ...],
                        limits: rules.Limits) -> tuple[str, bytes]:
        """The file's media type and bytes, redirects followed one by one (at most MAX_REDIRECTS, each checked:
        _next_hop). Raises FetchFailed, Oversized, NotAllowed. The URL is never logged or raised."""
        try:
            timeout = aiohttp.ClientTimeout(total=self.settings.fetch_timeout)
            async with asyncio.timeout(self.settings.fetch_timeout):  # all the hops together
                for _ in range(MAX_REDIRECTS + 1):
                    async with self.session.get(url, headers=carrier.media_headers(url), allow_redirects=False,
                                                timeout=timeout) as answer:
                        location = answer.headers.get("Location")
                        if answer.status in REDIRECTS and location:
                            url = await self._next_hop(url, location, hosts)
                            continue
                        return await self._read(answer, limits.max_file_bytes)
                raise FetchFailed("too many redirects")
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:  # ValueError: a Location yarl refuses
            raise FetchFailed(type(exc).__name__) from None

    async def _next_hop(self, url: str, location: str, hosts: tuple[str, ...]) -> str:
        """Where a redirect leads, if the gateway may go there: a host of hosts, or one whose every address is public
        (a carrier's file store); never a loopback, private or link-local address (SSRF). Raises NotAllowed."""
        target = urljoin(url, location)
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise NotAllowed("redirect_not_http")
        if rules.may_fetch(target, hosts):
            return target
        try:
            found = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port or 80)
        except OSError:
            raise FetchFailed("redirect host not resolved") from None
        if not found or not all(rules.public_address(str(info[4][0])) for info in found):
            log.warning("media_redirect_refused", host=clip(parts.hostname, 80))
            raise NotAllowed("redirect_not_public")
        return target

    async def _read(self, answer: aiohttp.ClientResponse, limit: int) -> tuple[str, bytes]:
        """The body of the final answer, read in chunks and refused as soon as it passes the channel's largest file
        (media.max_file_bytes, whatsapp.media_max_bytes)."""
        if answer.status != 200:
            raise FetchFailed(f"carrier answered {answer.status}")
        if answer.content_length is not None and answer.content_length > limit:
            raise Oversized(answer.content_length)
        body = bytearray()
        while chunk := await answer.content.read(CHUNK):
            body += chunk
            if len(body) > limit:
                raise Oversized(len(body))
        if not body:
            raise FetchFailed("carrier gave an empty file")
        return rules.media_type(answer.headers.get("Content-Type")), bytes(body)

    async def _retry(self, item: Claimed, error: str) -> None:
        """Try again after a capped exponential delay, or give up after media.fetch_attempts."""
        if item.attempts >= self.settings.fetch_attempts:
            log.warning("media_fetch_given_up", attempts=item.attempts, error=error)
            await self._finish(item, None, None, (MediaRefusal.FETCH_FAILED, None), error)
            return
        delay = min(self.settings.retry_base * 2 ** (item.attempts - 1), 300.0)
        await storage.defer_fetch(self.pool, media_id=item.id, retry_in=delay, error=error)
        self.metrics.media.labels("retried").inc()
        log.info("media_fetch_deferred", attempt=item.attempts, error=error, retry_in=delay)

    async def _finish(self, item: Claimed, content_type: str | None, content: bytes | None,
                      refused: tuple[MediaRefusal, int | None] | None, error: str | None = None) -> bool:
        """Store or refuse the attachment; if it was its text's last, release the copies and tell the sender what
        was refused, all in one transaction (the text's row locked: one finisher sees the last). False when
        another process finished it first (this one's lease ran out)."""
        async with self.pool.acquire() as conn, conn.transaction():
            locked = await storage.lock_message(conn, message_id=item.message_id)
            if locked is None:
                return False
            limits = self.limits[item.channel]
            if refused is None and content is not None:
                why = rules.refusal(content_type or "", len(content), locked.stored_bytes, limits) or (
                    MediaRefusal.TYPE_NOT_ALLOWED if rules.bytes_disagree(content_type or "", content) else None)
                refused = None if why is None else (why, len(content))
            if not await self._record(conn, item, content_type, content, refused, error):
                return False
            progress = await storage.progress(conn, message_id=item.message_id)
            if progress.pending:
                return True
            # Before the copies' locks, as a number's removal takes them: the community's, then the copies'. Once the
            # conversation ended its copies were canceled: nothing relays, so nothing is told either.
            ours = locked.conversation_open and (not progress.refused or await _number_kept(conn, locked))
            released, intercept_id = await storage.release_held(conn, message_id=item.message_id)
            notice = await self._notice(conn, locked, progress, limits) if ours else None
        await self._after(released, intercept_id, notice, locked.to_number)
        return True

    async def _record(self, conn: asyncpg.Connection, item: Claimed, content_type: str | None,
                      content: bytes | None, refused: tuple[MediaRefusal, int | None] | None,
                      error: str | None) -> bool:
        if refused is None and content is not None:
            stored = await storage.store_media(conn, media_id=item.id, content_type=content_type or "",
                                               content=content, sha256=hashlib.sha256(content).hexdigest())
            outcome = "stored"
        else:
            why, size = refused or (MediaRefusal.FETCH_FAILED, None)
            state = MediaState.FAILED if why == MediaRefusal.FETCH_FAILED else MediaState.REFUSED
            stored = await storage.refuse_media(conn, media_id=item.id, state=state, refusal=why,
                                                content_type=content_type or None, size=size, error=error)
            outcome = state.value
        if stored:
            self.metrics.media.labels(outcome).inc()
            log.info("media_" + outcome, position=item.position, content_type=content_type,
                     size=len(content) if content is not None else None)
        return stored

    async def _notice(self, conn: asyncpg.Connection, locked: storage.Locked, progress: Progress,
                      limits: rules.Limits) -> StoredOutbound | None:
        """The one notice to the sender naming what was not relayed and why; None when all was."""
        refused = [rules.Refused(position, why, kind, size) for position, why, kind, size in progress.refused]
        body = rules.refusal_notice(refused, progress.total, limits)
        if not body:
            return None
        return await messages.insert_outbound_message(
            conn, community_id=locked.community_id, conversation_id=locked.conversation_id, kind=MessageKind.HELP,
            priority=Priority.RELAY, from_number=locked.to_number, to_number=locked.from_number, body=body,
            segments=segments.count(body))

    async def _after(self, released: list[Released], intercept_id: int | None, notice: StoredOutbound | None,
                     proxy: str) -> None:
        """Once committed: queue what was released and the notice, and wake the intercept."""
        for copy in released:
            if copy.message.status == MessageStatus.QUEUED:
                await self.dispatcher.dispatch(copy.message, copy.priority, copy.from_number,
                                               relays=(copy.to_number, copy.conversation_id))
        if notice is not None:
            await self.dispatcher.dispatch(notice, Priority.RELAY, proxy)
        if intercept_id is not None:
            self.intercepts_due.set()
        if released:
            log.info("media_copies_released", copies=len(released), intercept_id=intercept_id)


async def _number_kept(conn: asyncpg.Connection, locked: storage.Locked) -> bool:
    """Whether the text's number is still its community's, under the community's lock (a number's removal holds it
    from start to commit: gateway/platform/communities.py remove_number), so that the refusal notice never goes
    from a number the community no longer has, nor escapes the removal's cancel."""
    if locked.community_id is None or await communities.lock_community(conn, community_id=locked.community_id) is None:
        return False
    owner = await communities.find_number_owner(conn, phone=locked.to_number)
    return owner is not None and owner.id == locked.community_id


async def forget_expired(pool: asyncpg.Pool, metrics: Metrics, retention_days: int) -> None:
    """Retention: delete the bytes of media whose conversation ended over media.retention_days ago, in batches."""
    while deleted := await storage.delete_expired(pool, retention_days=retention_days, limit=500):
        metrics.media.labels("expired").inc(deleted)
        log.info("media_expired", deleted=deleted)
        if deleted < 500:
            return

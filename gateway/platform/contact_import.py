"""Contacts from CSV and to CSV, as streams: a file of a million rows is never whole in memory (README "Contacts").

The import reads the body as it arrives, cuts it into records (a quoted cell may hold a newline: a record ends at a
newline outside quotes), and stores them BATCH rows per statement. Each batch commits on its own: one transaction
over a million rows would hold those contacts' locks against their STOPs for minutes. So a body cut off mid-way
(too large without a Content-Length, too slow, the client gone) leaves the batches before it stored, each row
whole; sending the file again is safe, as an import only sets what its rows say (a second run changes nothing).
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg
import structlog

from gateway.errors import InvalidInput, TooLarge
from gateway.relay import contact_data
from gateway.relay.contact_data import Change, Columns, RowRefused
from gateway.storage import communities as number_rows, contacts as rows
from gateway.storage.db import Executor
from gateway.vocabulary import Preference

log = structlog.get_logger(__name__)
BATCH = 1000  # rows per statement
PAGE = 1000  # the export's rows per query
MAX_RECORD = 65536  # bytes: a record longer than this has an unclosed quote
KEPT_REJECTIONS = 100  # the answer lists the first rejected rows, and counts them all
STOPPED = "this contact texted STOP: only their own START opts them back in (TCPA revocation)"
# A community's number as a contact: a send to it would come back in as an inbound text (a loop), and it is no person.
OWN_NUMBER = "one of the gateway's own numbers (a community's number), not a person: it sends texts, it is no contact"


@dataclass
class Imported:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[tuple[int, str]] = field(default_factory=list)  # (row, reason), the first KEPT_REJECTIONS

    def reject(self, row: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < KEPT_REJECTIONS:
            self.rejections.append((row, reason))


async def records(chunks: AsyncIterator[bytes], max_bytes: int) -> AsyncIterator[list[bytes]]:
    """The body's records (each a CSV row's bytes, newline included), a chunk's worth at a time. TooLarge past
    max_bytes; InvalidInput (invalid_csv) for a record longer than MAX_RECORD (a quote never closed, or no
    newlines at all): no contact takes that, and holding it would hold the file."""
    pending, record, quoted, size = bytearray(), bytearray(), False, 0
    async for chunk in chunks:
        room = max_bytes - size  # the rows within the limit are read, whatever the chunks: then it stops
        size += len(chunk)
        pending += chunk[:room]
        if b"\n" in chunk[:room]:
            *lines, pending = pending.split(b"\n")
            ready = []
            for line in lines:
                record += line + b"\n"
                quoted ^= line.count(b'"') % 2 == 1
                if not quoted:
                    ready.append(bytes(record))
                    record = bytearray()
            if ready:
                yield ready
        if size > max_bytes:
            raise TooLarge("body_too_large", f"the CSV is over contacts.import_max_bytes ({max_bytes} bytes); the rows "
                                             "before this point are stored: split the file")
        if len(record) + len(pending) > MAX_RECORD:
            raise InvalidInput("invalid_csv", f"a row longer than {MAX_RECORD} bytes (a quote never closed?): the "
                                              "rows before it are stored")
    if record or pending:
        yield [bytes(record + pending)]


def _decoded(raw: list[bytes], first: bool) -> list[str | None]:
    """Each record as text (None: not UTF-8); a byte order mark before the header is dropped."""
    out: list[str | None] = []
    for i, record in enumerate(raw):
        try:
            out.append(record.decode("utf-8-sig" if first and i == 0 else "utf-8"))
        except UnicodeDecodeError:
            out.append(None)
    return out


async def import_csv(pool: asyncpg.Pool, chunks: AsyncIterator[bytes], *, community_id: int, max_bytes: int,
                     phone_of: Callable[[str], str]) -> Imported:
    """Read a CSV body and store its contacts; InvalidInput (invalid_csv) when its first row is not a header with
    a phone column (nothing is stored then). TooLarge past max_bytes, InvalidInput for a row that never ends:
    the rows before are stored (the statement's words)."""
    reading = Reading(Batch(community_id), phone_of)
    try:
        async for raw in records(chunks, max_bytes):
            await reading.read(pool, raw)
    except (TooLarge, InvalidInput):
        if reading.columns is not None:
            await reading.batch.store(pool, reading.done)
        raise
    if reading.columns is None:
        raise InvalidInput("invalid_csv", "the body is empty: send a CSV whose first row names the columns")
    done = reading.done
    await reading.batch.store(pool, done)
    log.info("contacts_imported", community_id=community_id, rows=done.rows, created=done.created,
             updated=done.updated, rejected=done.rejected)
    return done


@dataclass
class Reading:
    """An import under way: its columns once the header is read, the rows waiting in the batch, the counts."""

    batch: Batch
    phone_of: Callable[[str], str]
    columns: Columns | None = None
    number: int = 0  # the row's number as a spreadsheet shows it: the header is row 1
    done: Imported = field(default_factory=Imported)

    async def read(self, db: Executor, raw: list[bytes]) -> None:
        texts = _decoded(raw, first=self.columns is None)
        # An unreadable record is read as an empty one: given as it is, its open quote would swallow the next.
        for text, cells in zip(texts, csv.reader([t if _closed(t) else "" for t in texts])):
            self.number += 1
            if self.columns is None:
                self.columns = _header(text, cells)
                continue
            if _closed(text) and not any(cell.strip() for cell in cells):
                continue  # a blank line
            self.done.rows += 1
            try:
                if not _closed(text):
                    raise RowRefused("not UTF-8 text" if text is None else "a quote is not closed (a \" in a cell is "
                                     "written \"\" and the cell quoted)")
                change = contact_data.read_row(cells, self.columns, self.phone_of)
            except RowRefused as refused:
                self.done.reject(self.number, str(refused))
                continue
            if change.phone in self.batch.phones or len(self.batch.changes) >= BATCH:
                await self.batch.store(db, self.done)  # a phone twice in a batch: the first is stored first
            self.batch.add(self.number, change)


def _closed(text: str | None) -> bool:
    return text is not None and text.count('"') % 2 == 0


def _header(text: str | None, cells: list[str]) -> Columns:
    if text is None:
        raise InvalidInput("invalid_csv", "the body is not UTF-8 text")
    return Columns.of(cells)


class Batch:
    """Rows waiting to be stored together, each phone once."""

    def __init__(self, community_id: int) -> None:
        self.community_id = community_id
        self.changes: list[tuple[int, Change]] = []
        self.phones: set[str] = set()

    def add(self, number: int, change: Change) -> None:
        self.changes.append((number, change))
        self.phones.add(change.phone)

    async def store(self, db: Executor, done: Imported) -> None:
        changes, self.changes, self.phones = self.changes, [], set()
        own = await number_rows.gateway_numbers_among(db, phones=[c.phone for _, c in changes]) if changes else set()
        for number, change in changes:
            if change.phone in own:
                done.reject(number, OWN_NUMBER)
        changes = [(number, change) for number, change in changes if change.phone not in own]
        for _ in range(3):  # a phone another statement created meanwhile is run again: it updates then
            if not changes:
                return
            result = await upsert(db, self.community_id, [change for _, change in changes], replace_fields=False)
            done.created += len(result.created)
            done.updated += len(result.updated)
            for number, change in changes:
                if change.phone in result.refused:
                    done.reject(number, STOPPED)
                elif change.phone not in result.created | result.updated | result.lost:
                    done.unchanged += 1
            changes = [(number, change) for number, change in changes if change.phone in result.lost]
        for number, _ in changes:
            done.reject(number, "changed by another request at the same time: send this row again")


async def upsert(db: Executor, community_id: int, changes: list[Change], replace_fields: bool) -> rows.Upserted:
    return await rows.upsert_contacts(
        db, community_id=community_id, phones=[c.phone for c in changes], names=[c.name for c in changes],
        fields=[c.fields for c in changes], tags=[c.tags for c in changes],
        preferences=[c.preference for c in changes], marketing=[c.marketing_preference for c in changes],
        replace_fields=replace_fields)


async def export_csv(db: Executor, write: Callable[[str], Awaitable[None]], *, community_id: int,
                     preference: Preference | None, tag: str | None, after: str, field_names: list[str]) -> int:
    """Write every contact (of that preference and tag, after that phone) as CSV, a page at a time, through write;
    a field.<name> column for each of field_names. Returns the rows written."""
    buffer = _Lines()
    writer = csv.writer(buffer)
    writer.writerow(contact_data.header(field_names))
    written = 0
    while True:
        page = await rows.list_contacts(db, community_id=community_id, preference=preference, after=after,
                                        limit=PAGE, tag=tag)
        writer.writerows(contact_data.row(contact, field_names) for contact in page)
        await write(buffer.take())
        written += len(page)
        if len(page) < PAGE:
            return written
        after = page[-1].phone


class _Lines:
    """What csv.writer writes, taken a page at a time."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def take(self) -> str:
        text, self.parts = "".join(self.parts), []
        return text

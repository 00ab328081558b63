"""The send path's typed storage: begin_send's row, and record_send_accepted's usage shard and early statuses."""

from __future__ import annotations

import asyncio
from datetime import date

import asyncpg
import pytest

from gateway.ops.metrics import Metrics
from gateway.storage import messages as storage
from gateway.storage.batching import Batched
from gateway.storage.db import QUERIES
from gateway.storage.messages import BeginSend, RecordAccepted
from gateway.vocabulary import USAGE_SHARDS, MessageKind, MessageStatus, Priority
from tests.helpers import ALEX, PROXY

DAY, MONTH = date(2026, 3, 14), date(2026, 3, 1)


@pytest.fixture
async def pool(clean):
    pool = await asyncpg.create_pool(clean.database_url, min_size=1, max_size=2)
    yield pool
    await pool.close()


@pytest.fixture
async def batched(pool):
    """A runner for the statement of that name, flushing for as long as the test runs."""
    tasks = []

    def start(name: str, query: str) -> Batched:
        statement = Batched(name, getattr(QUERIES, query), pool, Metrics(), max_size=10)
        tasks.append(asyncio.create_task(statement.run()))
        return statement

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _queued_message(db) -> int:
    community_id = await db.fetchval("INSERT INTO communities (name, mode) VALUES ('Acme', 'live') RETURNING id")
    await db.execute("SELECT setval('messages_id_seq', 40)")  # an id whose shard is not the id itself
    stored = await storage.insert_outbound_message(db, community_id=community_id, conversation_id=None,
                                                   kind=MessageKind.NOTIFICATION, priority=Priority.RELAY,
                                                   from_number=PROXY, to_number=ALEX, body="hello", segments=1)
    assert stored.status == MessageStatus.QUEUED
    return stored.id


async def test_begin_send_claims_a_queued_message_and_nothing_else(pool, db, batched):
    message_id = await _queued_message(db)
    begin = batched("begin_send", "begin_send")
    sending = await storage.begin_send(begin, BeginSend(message_id, [200, 400], 5000, ["sandbox"], "sandbox", 10.0))
    assert (sending.id, sending.status, sending.attempts, sending.kind) == (
        message_id, MessageStatus.SUBMITTING, 1, MessageKind.NOTIFICATION)
    assert (sending.levels, sending.ceiling, sending.to_number) == ([200, 400], 5000, ALEX)
    assert await storage.begin_send(begin, BeginSend(message_id + 1, [200], 5000, ["sandbox"], "sandbox", 10.0)) is None


async def test_begin_send_takes_a_try_again_only_once_it_is_older_than_a_send(db, batched):
    """A second queue entry for a message whose try is still with the carrier finds nothing to send; once the
    try is older than the send timeout (its lease ran out), the message is tried again."""
    message_id = await _queued_message(db)
    begin = batched("begin_send", "begin_send")
    assert (await storage.begin_send(begin, BeginSend(message_id, [200], 5000, ["sandbox"], "sandbox", 10.0))).attempts == 1
    assert await storage.begin_send(begin, BeginSend(message_id, [200], 5000, ["sandbox"], "sandbox", 10.0)) is None
    await db.execute("UPDATE messages SET updated_at = now() - interval '11 seconds' WHERE id = $1", message_id)
    again = await storage.begin_send(begin, BeginSend(message_id, [200], 5000, ["sandbox"], "sandbox", 10.0))
    assert (again.status, again.attempts) == (MessageStatus.SUBMITTING, 2)


async def test_accepted_segments_count_in_the_shard_of_the_message_and_early_statuses_come_back(pool, db, batched):
    message_id = await _queued_message(db)
    await storage.begin_send(batched("begin_send", "begin_send"), BeginSend(message_id, [200], 5000, ["sandbox"], "sandbox", 10.0))
    await storage.store_early_status(db, sid="SM1", status="sent", error_code=None, carrier="sandbox")
    await storage.store_early_status(db, sid="SM1", status="delivered", error_code=None, carrier="twilio")
    record = batched("record_accepted", "record_send_accepted")
    params = RecordAccepted(message_id, "SM1", DAY, MONTH, 2, 1)
    assert await storage.record_send_accepted(record, params) == [("sent", None, "sandbox"),
                                                                  ("delivered", None, "twilio")]
    assert await storage.record_send_accepted(record, params) == []  # recorded once
    usage = await db.fetch("SELECT period, shard, segments FROM usage_counters ORDER BY period")
    assert [tuple(row) for row in usage] == [("day", message_id % USAGE_SHARDS, 2),
                                             ("month", message_id % USAGE_SHARDS, 2)]
    assert (await storage.find_message(db, message_id=message_id)).status == MessageStatus.ACCEPTED

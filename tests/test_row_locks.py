"""Statements that lock a row and change it, run many at once beside inserts whose foreign keys hold the same row
FOR KEY SHARE: none may deadlock.

A statement that locked a row FOR NO KEY UPDATE in a CTE and then updated it deadlocked (Postgres 18) against a
second waiter whenever a key-share locker stood between them; it cost a send ("message_send_crashed") when two
first sends of a community loaded its counters at once. Each statement here failed with DeadlockDetectedError
before it locked the row with the UPDATE alone.
"""

import asyncio
import re
from datetime import date
from pathlib import Path

import asyncpg
import pytest

from gateway.storage import communities, usage
from gateway.vocabulary import ComplianceState, UsageUnit
from tests.helpers import sql_functions

QUERIES = Path(__file__).resolve().parent.parent / "sql" / "queries"


async def _load_counters(conn, community_id):
    today = date.today()
    await usage.load_counters(conn, community_id=community_id, unit=UsageUnit.SMS_SEGMENT, day=today,
                              month=today.replace(day=1))


async def _set_compliance_state(conn, community_id):
    await communities.set_compliance_state(conn, community_id=community_id, state=ComplianceState.OK,
                                           error_rate=0.0, opt_out_rate=0.0, measured_in=ComplianceState.OK)


@pytest.mark.parametrize("statement", [_load_counters, _set_compliance_state], ids=lambda f: f.__name__[1:])
async def test_many_at_once_beside_key_share_lockers_never_deadlock(gateway, clean, statement):
    community_id = (await gateway.community())["id"]
    failures = []

    async def in_transaction(work):
        try:
            async with pool.acquire() as conn, conn.transaction():
                await work(conn)
                await asyncio.sleep(0.002)  # the caller's work before its commit (a Redis call for the counters)
        except asyncpg.PostgresError as error:
            failures.append(repr(error))

    async def insert_message(conn):  # its foreign key holds the community row FOR KEY SHARE
        await conn.execute("INSERT INTO messages (community_id, direction, kind, from_number, to_number, body, status)"
                           " VALUES ($1, 'inbound', 'inbound', '+14155550100', '+14155550101', 'x', 'received')",
                           community_id)

    async with asyncpg.create_pool(clean.database_url, min_size=16, max_size=16) as pool:
        for _ in range(30):
            await asyncio.gather(*(in_transaction(lambda conn: statement(conn, community_id)) for _ in range(10)),
                                 *(in_transaction(insert_message) for _ in range(5)))
    assert failures == []


async def test_no_statement_locks_a_row_for_no_key_update_and_then_updates_it(db):
    """The kind of the deadlock above, for every query: a FOR NO KEY UPDATE (waiting, not SKIP LOCKED) in a
    statement that also UPDATEs, itself or in a function it calls (end_conversations, migration 0038). Lock with
    the UPDATE itself (RETURNING old for the value before), or FOR UPDATE."""
    functions = await sql_functions(db)
    offenders = []
    for path in sorted(QUERIES.glob("*.sql")):
        text = path.read_text()
        called = [body for name, body in functions.items() if re.search(rf"\b{name}\s*\(", text)]
        sql = re.sub(r"--[^\n]*", "", "\n".join([text, *called]))
        waiting = re.search(r"FOR NO KEY UPDATE(?!\s+(OF\s+\w+\s+)?SKIP LOCKED)", sql)
        if waiting and re.search(r"\bUPDATE\s+\w+(\s+\w+)?\s+SET\b", sql):
            offenders.append(path.name)
    assert offenders == []

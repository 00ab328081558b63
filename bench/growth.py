"""Growth: the messages table at many millions of rows (generated), and what its size does to the statements the
gateway runs on it: the sweep, the route fallback, a status callback, the lists, the retention passes; then the
same on the same rows partitioned by month (generated again once the first table is dropped, so the disk holds
one), and what retention costs there (a partition dropped).

    python bench/growth.py [--rows 10000000] [--conversations 1000000] [--days 400] [--repeat 30]
                           [--fillfactor 100] [--no-partitioned | --partitioned-only]

Embedded PostgreSQL in a temporary folder (about 650 bytes of disk per row with its indexes). Prints tables;
asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import uvloop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.ops.embedded import EmbeddedServers  # noqa: E402
from gateway.storage.db import QUERIES  # noqa: E402
from gateway.storage.migrate import migrate_url  # noqa: E402

CHUNK = 1_000_000  # rows per INSERT: each its own transaction
# One chunk of messages: ids $2..$3, each in conversation 1 + (i * 7919) % $4, at its place in the last $5 days.
MESSAGES = """
            INSERT INTO messages (id, community_id, conversation_id, direction, kind, from_number, to_number, body,
                                  status, carrier_sid, created_at, updated_at, segments)
            SELECT i + 1, $1::bigint, c, CASE WHEN i % 2 = 0 THEN 'inbound' ELSE 'outbound' END,
                   CASE WHEN i % 2 = 0 THEN 'inbound' ELSE 'relay' END,
                   CASE WHEN i % 2 = 0 THEN '+1628' || lpad((c - 1)::text, 7, '0')
                        ELSE '+1415555' || lpad(((c - 1) % 100)::text, 4, '0') END,
                   CASE WHEN i % 2 = 0 THEN '+1415555' || lpad(((c - 1) % 100)::text, 4, '0')
                        ELSE '+1650' || lpad((c - 1)::text, 7, '0') END,
                   'A message of about sixty characters, as most relayed texts are.',
                   CASE WHEN i % 2 = 0 THEN 'received' WHEN i % 1000 = 1 THEN 'queued' ELSE 'delivered' END,
                   CASE WHEN i % 2 = 1 THEN 'SMg' || lpad(i::text, 31, '0') END,
                   t, t, 1
            FROM generate_series($2::bigint, $3::bigint - 1) i,
                 LATERAL (SELECT 1 + (i * 7919) % $4::int AS c,
                                 now() - make_interval(secs => $5::int * 86400 * (1 - i::float8 / $6::bigint))
                                   AS t) x"""


async def generate(conn: asyncpg.Connection, conversations: int, days: int) -> int:
    """One community on 100 numbers with `conversations` pair conversations, spread evenly over the last `days`
    days; one in ten still open. Returns the community's id."""
    community = await conn.fetchval("INSERT INTO communities (name, mode, require_verification) "
                                    "VALUES ('Growth', 'live', false) RETURNING id")
    await conn.execute("INSERT INTO community_numbers (phone, community_id) "
                       "SELECT '+1415555' || lpad(i::text, 4, '0'), $1 FROM generate_series(0, 99) i", community)
    await conn.execute("""
        INSERT INTO participants (community_id, phone, name)
        SELECT $1::bigint, '+1628' || lpad(i::text, 7, '0'), 'P' FROM generate_series(0, $2::int - 1) i
        UNION ALL SELECT $1::bigint, '+1650' || lpad(i::text, 7, '0'), 'A' FROM generate_series(0, $2::int - 1) i""",
                       community, conversations)
    await conn.execute("""
        INSERT INTO conversations (community_id, proxy_number, prospect_id, advocate_id, code, status, closed_at,
                                   last_activity_at)
        SELECT $1::bigint, '+1415555' || lpad((i % 100)::text, 4, '0'), i + 1, $2::int + i + 1,
               'G' || (i / 100)::text, CASE WHEN i % 10 = 0 THEN 'open' ELSE 'closed' END,
               CASE WHEN i % 10 = 0 THEN NULL ELSE t END, t
        FROM generate_series(0, $2::int - 1) i,
             LATERAL (SELECT now() - make_interval(secs => $3::int * 86400 * (1 - i::float8 / $2::int)) AS t) x""",
                       community, conversations, days)
    return community


async def secondary_indexes(conn: asyncpg.Connection) -> list[str]:
    """Drops the messages table's indexes that back no constraint; returns their definitions to build later."""
    indexes = [row["indexdef"] for row in await conn.fetch(
        "SELECT i.indexdef FROM pg_indexes i WHERE i.tablename = 'messages' AND NOT EXISTS ("
        " SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)")]
    for definition in indexes:
        await conn.execute("DROP INDEX " + definition.split(" INDEX ", 1)[1].split(" ON ", 1)[0])
    return indexes


async def load(url: str, table: str, community: int, args: argparse.Namespace, indexes: list[str]) -> float:
    """args.rows messages into table over the conversations, in id order over the days; nearly all delivered or
    received, one in a thousand still queued. Chunks go on two connections (this box's cores), with the
    foreign-key checks off (the rows are valid by construction); the indexes are built once after the load
    (sorted, in parallel), not row by row: ten times faster. Seconds."""
    started = time.perf_counter()
    pool = await asyncpg.create_pool(url, min_size=2, max_size=2, command_timeout=None,
                                     server_settings={"session_replication_role": "replica"})
    done = 0

    async def chunk(low: int) -> None:
        nonlocal done
        await pool.execute(re.sub(r"\bmessages\b", table, MESSAGES), community, low,
                           min(args.rows, low + CHUNK), args.conversations, args.days, args.rows)
        done += 1
        print(f"  {min(args.rows, done * CHUNK):,} rows", flush=True)
    try:
        await asyncio.gather(*(chunk(low) for low in range(0, args.rows, CHUNK)))
    finally:
        await pool.close()
    conn = await asyncpg.connect(url, command_timeout=None)
    try:
        await conn.execute("SET maintenance_work_mem = '1GB'")
        for definition in indexes:
            await conn.execute(definition)
        await conn.execute(f"VACUUM ANALYZE {table}, conversations, participants")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def timed(conn: asyncpg.Connection, sql: str, args_of, repeat: int) -> str:
    """p50 and p99 of the statement over repeat runs (args_of(n) gives run n's parameters), after 3 warm-ups."""
    took = []
    for n in range(repeat + 3):
        started = time.perf_counter()
        await conn.fetch(sql, *args_of(n))
        if n >= 3:
            took.append(time.perf_counter() - started)
    took.sort()
    return f"{statistics.median(took) * 1e3:.2f} ms / {took[min(len(took) - 1, int(len(took) * .99))] * 1e3:.2f} ms"


def statements(table: str, conversations: int, rows: int) -> dict[str, tuple[str, object]]:
    """The statements measured: name -> (SQL on table, run n -> parameters)."""
    on = lambda sql: re.sub(r"\bmessages\b", table, sql)  # noqa: E731
    conversation = lambda n: 1 + (n * 104729) % conversations  # noqa: E731
    return {
        "sweep (find_unsent_messages)": (on(QUERIES.find_unsent_messages), lambda n: (30.0, 60.0, 500)),
        "route fallback (find_last_relayed)": (on(QUERIES.find_last_relayed), lambda n: (
            "+1415555" + f"{(conversation(n) - 1) % 100:04d}", "+1650" + f"{conversation(n) - 1:07d}",
            [conversation(n)])),
        "status callback by sid (the lookup of apply_message_status)": (
            f"SELECT id, status FROM {table} WHERE carrier_sid = $1",
            lambda n: ("SMg" + f"{(n * 7919 % (rows // 2)) * 2 + 1:031d}",)),
        "a conversation's messages, first page (list_conversation_messages)": (
            on(QUERIES.list_conversation_messages), lambda n: (conversation(n), 0, 50)),
        "a phone's messages, first page (list_messages_by_phone)": (on(QUERIES.list_messages_by_phone), lambda n: (
            None, None, None, "+1628" + f"{conversation(n) - 1:07d}", None, None, None, None, None, None, 50)),
    }


async def sizes(conn: asyncpg.Connection, table: str) -> str:
    """Its size with indexes, and its rows' alone (a partitioned table: the sum of its partitions)."""
    parts = "SELECT $1::regclass AS r UNION ALL SELECT inhrelid FROM pg_inherits WHERE inhparent = $1::regclass"
    total = await conn.fetchval(f"SELECT sum(pg_total_relation_size(r)) FROM ({parts}) p", table)
    heap = await conn.fetchval(f"SELECT sum(pg_relation_size(r)) FROM ({parts}) p", table)
    return f"{total / 2 ** 30:.2f} GiB in all, {heap / 2 ** 30:.2f} GiB of rows"


async def retention_batches(conn: asyncpg.Connection, days: int, batches: int) -> str:
    """Seconds per batch of 1,000 of the body pass and the row pass (rolled back), and the projected full pass."""
    results = []
    for query in (QUERIES.redact_old_messages, QUERIES.delete_old_messages):
        took = []
        for _ in range(batches):
            tx = conn.transaction()
            await tx.start()
            started = time.perf_counter()
            await conn.fetchrow(query, days, 1000)
            took.append(time.perf_counter() - started)
            await tx.rollback()
        results.append(statistics.median(took))
    return f"{results[0] * 1e3:.0f} ms per 1,000 bodies, {results[1] * 1e3:.0f} ms per 1,000 rows deleted"


async def expiry_batch(conn: asyncpg.Connection, batches: int) -> str:
    """Milliseconds per batch of 1,000 idle conversations expired (rolled back): the expiry pass at this size."""
    took = []
    for _ in range(batches):
        tx = conn.transaction()
        await tx.start()
        started = time.perf_counter()
        expired = len(await conn.fetch(QUERIES.expire_idle_conversations, 1000))
        took.append(time.perf_counter() - started)
        await tx.rollback()
    return f"{statistics.median(took) * 1e3:.0f} ms per batch ({expired:,} conversations expired in it)"


async def partitioned_table(conn: asyncpg.Connection, days: int) -> list[str]:
    """messages_by_month: messages' columns, partitioned by created_at, one partition per 30 days; the unpartitioned
    table is dropped first, so the disk holds one of them. Returns the indexes to build after the load: the same,
    with a plain index where messages has a unique one (a unique index must hold the partition key)."""
    indexes = [row["indexdef"].replace(" ON public.messages ", " ON messages_by_month ")
               .replace("INDEX ", "INDEX bm_", 1)
               for row in await conn.fetch("SELECT indexdef FROM pg_indexes WHERE tablename = 'messages' "
                                           "AND indexname NOT LIKE '%pkey' AND indexdef NOT LIKE '%UNIQUE%'")]
    indexes += ["CREATE INDEX bm_id ON messages_by_month (id)",
                "CREATE INDEX bm_sid ON messages_by_month (carrier_sid)"]
    storage = await conn.fetchval("SELECT coalesce(array_to_string(reloptions, ', '), '') FROM pg_class "
                                  "WHERE oid = 'messages'::regclass")
    storage = f" WITH ({storage})" if storage else ""  # the same fillfactor on each partition
    await conn.execute("CREATE TABLE messages_by_month (LIKE messages INCLUDING DEFAULTS INCLUDING GENERATED) "
                       "PARTITION BY RANGE (created_at)")
    await conn.execute("DROP TABLE messages CASCADE")
    base = await conn.fetchval("SELECT now() + interval '1 hour'")  # one instant for every bound
    for n in range(days // 30 + 2):
        await conn.execute(f"""CREATE TABLE messages_by_month_{n} PARTITION OF messages_by_month FOR VALUES
            FROM ('{base.isoformat()}'::timestamptz - make_interval(days => {(n + 1) * 30}))
            TO ('{base.isoformat()}'::timestamptz - make_interval(days => {n * 30})){storage}""")
    await conn.execute(f"CREATE TABLE messages_by_month_future PARTITION OF messages_by_month FOR VALUES "
                       f"FROM ('{base.isoformat()}') TO (MAXVALUE){storage}")
    return indexes


async def drop_oldest(conn: asyncpg.Connection, days: int) -> str:
    oldest = None
    for n in range(days // 30 + 1, -1, -1):  # the oldest that holds rows
        oldest = f"messages_by_month_{n}"
        if await conn.fetchval(f"SELECT EXISTS (SELECT FROM {oldest})"):
            break
    rows = await conn.fetchval(f"SELECT count(*) FROM {oldest}")
    started = time.perf_counter()
    await conn.execute(f"ALTER TABLE messages_by_month DETACH PARTITION {oldest}")
    await conn.execute(f"DROP TABLE {oldest}")
    return f"{(time.perf_counter() - started) * 1e3:.0f} ms for {rows:,} rows (the oldest partition)"


async def measured(conn: asyncpg.Connection, table: str, args: argparse.Namespace, label: str) -> list:
    """The size and each statement's p50 / p99 on table, as table rows."""
    rows = [(f"{label}size", await sizes(conn, table))]
    for name, (sql, args_of) in statements(table, args.conversations, args.rows).items():
        rows.append((f"{label}{name}, p50 / p99", await timed(conn, sql, args_of, args.repeat)))
    return rows


async def unpartitioned(url: str, conn: asyncpg.Connection, community: int, args: argparse.Namespace) -> list:
    """Load messages, then time the statements, a retention batch and an expiry batch on it: table rows."""
    generated = await load(url, "messages", community, args, await secondary_indexes(conn))
    table = [("generation", f"{generated:.0f} s ({args.rows / generated:,.0f} rows/s)")]
    table += await measured(conn, "messages", args, "")
    table.append(("retention at this size", await retention_batches(conn, 90, 5)))
    table.append(("expiry at this size", await expiry_batch(conn, 5)))
    return table


async def partitioned(url: str, conn: asyncpg.Connection, community: int, args: argparse.Namespace) -> list:
    """The same rows in messages_by_month (messages dropped first), timed, then its oldest partition dropped."""
    print("generating the rows partitioned by month...", flush=True)
    generated = await load(url, "messages_by_month", community, args, await partitioned_table(conn, args.days))
    table = [("partitioned by month: generation", f"{generated:.0f} s ({args.rows / generated:,.0f} rows/s)")]
    table += await measured(conn, "messages_by_month", args, "partitioned: ")
    table.append(("partitioned: retention, a partition dropped", await drop_oldest(conn, args.days)))
    return table


async def main(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="gateway-growth-"))
    servers = EmbeddedServers(folder, 0)
    url = servers.start_postgres()
    try:
        await migrate_url(url)
        conn = await asyncpg.connect(url, command_timeout=None)
        print(f"generating {args.rows:,} messages...", flush=True)
        community = await generate(conn, args.conversations, args.days)
        if args.fillfactor:
            await conn.execute(f"ALTER TABLE messages SET (fillfactor = {int(args.fillfactor)})")
        table = [("rows", f"{args.rows:,} messages over {args.conversations:,} conversations and {args.days} days")]
        if not args.partitioned_only:
            table += await unpartitioned(url, conn, community, args)
        if not args.no_partitioned:
            table += await partitioned(url, conn, community, args)
        await conn.close()
        _print(table)
    finally:
        servers.stop()
        shutil.rmtree(folder, ignore_errors=True)  # tens of gigabytes at 100 million rows


def _print(table: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in table)
    print()
    for name, value in table:
        print(f"| {name.ljust(width)} | {value} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--fillfactor", type=int, help="the messages table's, for the load (default: the schema's, "
                        "80); 100 packs the rows as a table of finished messages that are never updated again")
    parser.add_argument("--no-partitioned", action="store_true", help="skip the partitioned table")
    parser.add_argument("--partitioned-only", action="store_true", help="only the partitioned table (no expiry "
                        "batch: expiry reads the unpartitioned table)")
    uvloop.run(main(parser.parse_args()))

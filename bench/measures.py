"""What bench/run.py measures besides the load itself: the CPU time of each part on the box, and (--statements)
Postgres restarted with pg_stat_statements and the statements that took the most Postgres time, per message."""

from __future__ import annotations

import os

import asyncpg
import psutil

from gateway.ops.embedded import EmbeddedServers


async def enable_statement_stats(servers: EmbeddedServers) -> str:
    """Restart Postgres with pg_stat_statements loaded; returns its URL."""
    conn = await asyncpg.connect(servers.start_postgres())
    await conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
    await conn.execute("ALTER SYSTEM SET pg_stat_statements.track_planning = on")
    await conn.close()
    servers.stop_postgres()
    url = servers.start_postgres()
    conn = await asyncpg.connect(url)
    await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    await conn.close()
    return url


async def statement_report(url: str, messages: int, top: int = 12) -> None:
    """The statements that took the most Postgres time during the load, per relayed message: time, calls, rows,
    buffers dirtied and write-ahead log bytes (the last three do not depend on how busy the machine was)."""
    conn = await asyncpg.connect(url)
    rows = await conn.fetch("""
        SELECT calls, total_exec_time + total_plan_time AS total, rows, shared_blks_dirtied, wal_bytes, query
        FROM pg_stat_statements ORDER BY total DESC LIMIT $1""", top)
    await conn.close()
    print("\n| Postgres ms per message | calls | rows | buffers dirtied | WAL bytes | statement |"
          "\n|---|---|---|---|---|---|")
    for row in rows:
        query = " ".join(row["query"].split())[:110]
        print(f"| {row['total'] / messages:.3f} | {row['calls'] / messages:.2f} | {row['rows'] / messages:.2f} "
              f"| {row['shared_blks_dirtied'] / messages:.2f} | {float(row['wal_bytes']) / messages:.0f} | {query} |")


def cpu_seconds(gateways: list[int]) -> dict[str, float]:
    """CPU time used so far by each part on this box: the gateway, Postgres, Redis and this harness."""
    # Steal: time the host gave this virtual machine's cores to others, which makes runs vary.
    used = {"gateway": 0.0, "postgres": 0.0, "redis": 0.0, "harness (load + fake carrier)": 0.0,
            "stolen by the host": getattr(psutil.cpu_times(), "steal", 0.0)}
    names = {process.info["pid"]: process.info["name"] or "" for process in psutil.process_iter(["pid", "name"])}
    for process in psutil.process_iter(["pid", "ppid", "name", "cpu_times"]):
        name, times = process.info["name"] or "", process.info["cpu_times"]
        part = ("gateway" if process.info["pid"] in gateways else "postgres" if name.startswith("postgres")
                else "redis" if name.startswith(("valkey", "redis")) else
                "harness (load + fake carrier)" if process.info["pid"] == os.getpid() else None)
        if part and times:
            used[part] += times.user + times.system
            if part != "harness (load + fake carrier)" and not names.get(process.info["ppid"], "").startswith(name):
                # The server's own process also holds what its children used before they ended (autovacuum
                # workers, connections closed): without it a worker that ends during the load is subtracted.
                used[part] += times.children_user + times.children_system
    return used


async def reset_table_counts(url: str, statements: bool = False) -> str:
    """Zero the database's table statistics (and with statements, pg_stat_statements'), so that what follows reads
    the load's alone; returns the WAL position now (for postgres_effects())."""
    conn = await asyncpg.connect(url)
    await conn.execute("SELECT pg_stat_reset()")
    if statements:
        await conn.execute("SELECT pg_stat_statements_reset()")
    position = await conn.fetchval("SELECT pg_current_wal_lsn()::text")
    await conn.close()
    return position


async def wal_written(url: str, since: str) -> int:
    """Bytes of write-ahead log Postgres wrote since that position: what a replica and the archive take."""
    conn = await asyncpg.connect(url)
    written = await conn.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::text::pg_lsn)::bigint", since)
    await conn.close()
    return written


async def heap_only(url: str, tables: tuple[str, ...] = ("messages", "conversations", "contacts")) -> str:
    """Of each table's row updates since reset_table_counts(), the share Postgres made in place (heap-only, no
    index touched). Read once the gateways have stopped: a backend's counts reach the statistics when it ends."""
    conn = await asyncpg.connect(url)
    rows = await conn.fetch("SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
                            "WHERE relname = ANY($1::text[]) ORDER BY array_position($1::text[], relname::text)",
                            list(tables))
    await conn.close()
    return ", ".join(f"{row['relname']} {row['n_tup_hot_upd'] / max(row['n_tup_upd'], 1):.0%} of {row['n_tup_upd']:,}"
                     for row in rows)


async def postgres_effects(url: str, wal_from: str, messages: int) -> list[tuple[str, str]]:
    """The report's rows for what the load did to Postgres: the share of updates in place, the WAL per message."""
    wal = await wal_written(url, wal_from) / max(messages, 1)
    return [("row updates made in place (heap-only)", await heap_only(url)),
            ("Postgres write-ahead log per relayed message", f"{wal / 1024:.1f} KiB")]

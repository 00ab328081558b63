"""Benchmark: relayed messages per second, webhook and end-to-end latency, memory, routing-table rebuild.

    python bench/run.py [--conversations 10000] [--messages 20000] [--concurrency 64] [--rate 0] [--processes 1]
                        [--full-cycle]

Starts embedded PostgreSQL and Valkey in a temporary folder, the gateway as its own process, a local fake
carrier that answers the Messages API at once, and a load generator sending signed inbound webhooks
(--rate per second, or as fast as the gateway answers with --rate 0). Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import statistics
import shutil
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import asyncpg
import psutil
import redis.asyncio as aioredis
import uvloop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import cycles  # noqa: E402
from bench.measures import (cpu_seconds, enable_statement_stats, postgres_effects, reset_table_counts,  # noqa: E402
                            statement_report)
from bench.wire import Client, FakeCarrier  # noqa: E402
from gateway.carriers.twilio import signature  # noqa: E402
from gateway.ops.embedded import EmbeddedServers  # noqa: E402
from gateway.ops.metrics import Metrics  # noqa: E402
from gateway.storage.migrate import migrate_url  # noqa: E402
from gateway.routing.table import RouteTable  # noqa: E402

SID, TOKEN = "AC" + "0" * 31 + "1", "bench-auth-token"
NUMBERS = 100  # the community's pool; conversation i uses number i % NUMBERS


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


def proxy(i: int) -> str:
    return f"+1415555{i % NUMBERS:04d}"


def prospect(i: int) -> str:
    return f"+1628{2000000 + i:07d}"


def advocate(i: int) -> str:
    return f"+1650{2000000 + i:07d}"


async def seed(url: str, conversations: int, start: int = 0) -> None:
    """Open conversations straight into Postgres (the API would take minutes for a million)."""
    conn = await asyncpg.connect(url)
    try:
        community = await conn.fetchval("SELECT id FROM communities WHERE name = 'Bench'")
        if community is None:
            community = await conn.fetchval(
                "INSERT INTO communities (name, mode, require_verification, daily_limit_levels, current_day)"
                " VALUES ('Bench', 'live', false, '{100000000}', current_date) RETURNING id")
            await conn.execute("INSERT INTO community_numbers (phone, community_id)"
                               " SELECT '+1415555' || lpad(i::text, 4, '0'), $1 FROM generate_series(0, $2 - 1) i",
                               community, NUMBERS)
        await conn.execute("""
            WITH people AS (
                INSERT INTO participants (community_id, phone, name)
                SELECT $1, p.phone, 'P' FROM generate_series($2::int, $3::int - 1) i,
                     LATERAL (VALUES ('+1628' || lpad((2000000 + i)::text, 7, '0')),
                                     ('+1650' || lpad((2000000 + i)::text, 7, '0'))) p(phone)
                RETURNING id, phone)
            INSERT INTO conversations (community_id, proxy_number, prospect_id, advocate_id, code)
            SELECT $1, '+1415555' || lpad((i % $4)::text, 4, '0'), pr.id, ad.id, 'B' || (i / $4)::text
            FROM generate_series($2::int, $3::int - 1) i
            JOIN people pr ON pr.phone = '+1628' || lpad((2000000 + i)::text, 7, '0')
            JOIN people ad ON ad.phone = '+1650' || lpad((2000000 + i)::text, 7, '0')""",
            community, start, start + conversations, NUMBERS)
        await _seed_participants(conn, community)
    finally:
        await conn.close()


async def _seed_participants(conn: asyncpg.Connection, community: int) -> None:
    """Who is in each seeded conversation (migration 0020): the prospect, then the advocate; then the statistics
    of the seeded tables, as a database in service has them (autovacuum would gather them a minute later):
    without them Postgres plans the relay's statement anew on every call instead of reusing its generic plan."""
    await conn.execute("""
        INSERT INTO conversation_participants (conversation_id, participant_id, role)
        SELECT c.id, side.participant_id, side.role
        FROM conversations c
        CROSS JOIN LATERAL (VALUES (1, c.prospect_id, 'prospect'), (2, c.advocate_id, 'advocate'))
             AS side (n, participant_id, role)
        WHERE c.community_id = $1
          AND NOT EXISTS (SELECT 1 FROM conversation_participants cp WHERE cp.conversation_id = c.id)
        ORDER BY c.id, side.n""", community)
    await conn.execute("ANALYZE communities, community_numbers, participants, conversations, "
                       "conversation_participants")


async def gateway_process(env: dict, port: int) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(sys.executable, "run.py", cwd=ROOT, env=env,
                                                   stdout=open(os.environ.get("BENCH_GATEWAY_LOG", os.devnull), "ab"))
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            try:
                async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return process
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the gateway did not become ready")


async def load(urls: list[str], messages: int, conversations: int, concurrency: int,
               rate: float, both: bool = False) -> tuple[list, dict, float]:
    """Signed inbound webhooks from prospects, spread over the gateways as a load balancer would; returns
    webhook latencies, send times by key, and duration."""
    latencies: list[float] = []
    sent_at: dict[str, float] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(messages):
        queue.put_nowait(n)
    started = time.perf_counter()

    async def worker(clients: list[Client]) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            if rate:
                await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
            i = n % conversations
            key = f"k{n}"
            url = urls[n % len(urls)]
            # both parties text in a full cycle, every other message each; else the prospects only
            sender = advocate(i) if both and n % 2 else prospect(i)
            form = [("MessageSid", "SM%032x" % n), ("AccountSid", SID), ("From", sender), ("To", proxy(i)),
                    ("Body", f"bench {key}"), ("NumMedia", "0")]
            headers = {"X-Twilio-Signature": signature(TOKEN, url + "/webhooks/twilio/sms", form)}
            sent_at[key] = time.perf_counter()
            status = await clients[n % len(urls)].post("/webhooks/twilio/sms", form, headers)
            if status != 200:
                raise SystemExit(f"webhook answered {status}")
            latencies.append(time.perf_counter() - sent_at[key])

    # Each worker keeps one connection to each gateway, as a carrier's connection pool would.
    pools = [[Client(url) for url in urls] for _ in range(concurrency)]
    try:
        await asyncio.gather(*(worker(clients) for clients in pools))
    finally:
        for clients in pools:
            for client in clients:
                await client.close()
    return latencies, sent_at, time.perf_counter() - started


async def route_lookup_p99(url: str) -> str:
    """The bucket of gateway_route_lookup_seconds (Redis lookups) that holds the 99th percentile."""
    async with aiohttp.ClientSession() as session:
        async with session.get(url + "/metrics") as response:
            text = await response.text()
    buckets = [(float(m.group(1)), float(m.group(2))) for m in re.finditer(
        r'gateway_route_lookup_seconds_bucket\{le="([^"]+)",source="redis"\} ([0-9.e+]+)', text) if m.group(1) != "+Inf"]
    total = float(re.search(r'gateway_route_lookup_seconds_count\{source="redis"\} ([0-9.e+]+)', text).group(1))
    for bound, count in buckets:
        if count >= 0.99 * total:
            return f"<= {bound * 1000:g} ms ({int(total)} lookups)"
    return f"> {buckets[-1][0] * 1000:g} ms"


async def quiet_lookups(database_url: str, redis_url: str, conversations: int, count: int = 3000) -> str:
    """RouteTable.lookup itself, from this process once the load is over: what the table costs without the
    wait for a busy event loop that the in-gateway figure includes."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    client = aioredis.from_url(redis_url, decode_responses=True)
    table, took = RouteTable(client, pool, Metrics()), []
    await table.confirm()  # lookups read Redis only once the table is confirmed in step with Postgres
    for n in range(count):
        i = n * 7919 % conversations
        started = time.perf_counter()
        await table.lookup(proxy(i), prospect(i))
        took.append(time.perf_counter() - started)
    await client.aclose()
    await pool.close()
    return f"p50 {pct(took, .5) * 1000:.2f} ms, p99 {pct(took, .99) * 1000:.2f} ms"


async def routes_built(redis_url: str) -> None:
    from gateway.routing.table import BUILT
    client = aioredis.from_url(redis_url)
    while not await client.exists(BUILT):
        await asyncio.sleep(0.1)
    await client.aclose()


async def bare_aiohttp(messages: int, concurrency: int) -> float:
    """Requests per second a bare aiohttp handler answers on this machine, from the same load generator."""
    script = ("from aiohttp import web\napp = web.Application()\n"
              "async def ok(request):\n    await request.post()\n    return web.Response(text='ok')\n"
              "app.router.add_post('/webhooks/twilio/sms', ok)\nimport sys\n"
              "import uvloop\nweb.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None, access_log=None,"
              " loop=uvloop.new_event_loop())\n")
    port = free_port()
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", script, str(port))
    await asyncio.sleep(1.5)
    try:
        latencies, _, duration = await load([f"http://127.0.0.1:{port}"], messages, 1000, concurrency, 0)
        return len(latencies) / duration
    finally:
        process.terminate()
        await process.wait()


async def redis_round_trip(url: str, count: int = 5000) -> float:
    client = aioredis.from_url(url)
    await client.set("bench:key", "x")
    started = time.perf_counter()
    for _ in range(count):
        await client.get("bench:key")
    elapsed = (time.perf_counter() - started) / count
    await client.aclose()
    return elapsed


async def rebuild_times(database_url: str, redis_url: str, sizes: list[int], already: int) -> list[tuple]:
    """Time RouteTable.rebuild() for each size of open conversations, and Redis memory per route."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    client = aioredis.from_url(redis_url, decode_responses=True)
    results, have = [], already
    for size in sizes:
        if size > have:
            await seed(database_url, size - have, start=have)
            have = size
        await client.flushdb()
        before = (await client.info("memory"))["used_memory"]
        started = time.perf_counter()
        await RouteTable(client, pool, Metrics()).rebuild()
        took = time.perf_counter() - started
        per_route = ((await client.info("memory"))["used_memory"] - before) / size
        results.append((size, took, per_route))
    await client.aclose()
    await pool.close()
    return results


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gateway_env(folder: Path, args: argparse.Namespace, database_url: str, redis_url: str, carrier_port: int) -> dict:
    """The environment of each gateway process: the servers, the fake carrier, and a config without the per-number
    rate (the load is the point) and with warnings only in the log."""
    config = folder / "bench.toml"
    config.write_text((ROOT / "config.toml").read_text()
                      .replace("per_number_rate = 1.0", "per_number_rate = 100000.0")
                      .replace('level = "info"', 'level = "warning"')
                      .replace("concurrency = 64 ", f"concurrency = {args.send_concurrency} "))
    return {**{k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "TWILIO_", "CARRIER"))},
            "DATABASE_URL": database_url, "REDIS_URL": redis_url,
            "GATEWAY_CONFIG": str(config), "CARRIER": "twilio", "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_API_BASE": f"http://127.0.0.1:{carrier_port}", "LINE_TYPE_LOOKUP": "offline",
            "GATEWAY_VERIFICATION_SECRET": "b" * 16, "GATEWAY_WEBHOOK_SECRET": "b" * 16}


async def start_gateways(env: dict, count: int, processes: list) -> list[str]:
    """count gateway processes (appended to processes, for the caller to stop), each on a port of its own; their URLs."""
    ports = [free_port() for _ in range(count)]
    for port in ports:
        processes.append(await gateway_process({**env, "GATEWAY_PORT": str(port)}, port))
    return [f"http://127.0.0.1:{port}" for port in ports]


async def all_arrived(carrier: FakeCarrier, messages: int, within: float = 120) -> None:
    """Until the fake carrier received every relayed message, or within seconds passed."""
    deadline = time.perf_counter() + within
    while len(carrier.arrived) < messages and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)


async def stop_gateways(processes: list) -> None:
    """SIGTERM to each gateway process, awaited; the list emptied (nothing left for the final kill)."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
        await process.wait()
    processes.clear()


async def main(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    servers = EmbeddedServers(folder, free_port())
    database_url, redis_url = servers.start_postgres(), servers.start_redis()
    if args.statements:
        database_url = await enable_statement_stats(servers)
    processes: list[asyncio.subprocess.Process] = []
    try:
        await migrate_url(database_url)
        await seed(database_url, args.conversations)
        carrier = FakeCarrier((lambda url, form: signature(TOKEN, url, form)) if args.full_cycle else None)
        carrier_port = await carrier.start()
        env = gateway_env(folder, args, database_url, redis_url, carrier_port)
        urls = await start_gateways(env, args.processes, processes)
        await routes_built(redis_url)  # serving starts before the rebuild ends; measure the steady state
        pids = [process.pid for process in processes]
        wal_from = await reset_table_counts(database_url, statements=args.statements)
        cpu_before = cpu_seconds(pids)
        latencies, sent_at, duration = await load(urls, args.messages, args.conversations, args.concurrency,
                                                  args.rate, both=args.full_cycle)
        await (cycles.all_completed if args.full_cycle else all_arrived)(carrier, args.messages)
        cpu = {part: used - cpu_before[part] for part, used in cpu_seconds(pids).items()}
        if args.statements:
            await statement_report(database_url, args.messages)
        relayed_per_second = len(carrier.arrived) / (max(carrier.arrived.values()) - min(sent_at.values()))
        end_to_end = [carrier.arrived[k] - sent_at[k] for k in carrier.arrived if k in sent_at]
        rss = sum(psutil.Process(p.pid).memory_info().rss for p in processes) / 2 ** 20
        lookup_p99 = await route_lookup_p99(urls[0])
        await stop_gateways(processes)
        effects = await postgres_effects(database_url, wal_from, len(carrier.arrived))
        await carrier.stop()
        ceiling, round_trip, alone, rebuilds = await at_rest(args, database_url, redis_url)
        report(args, relayed_per_second, latencies, end_to_end, rss, ceiling, round_trip, rebuilds, duration,
               len(carrier.arrived), f"{lookup_p99}; RouteTable.lookup alone, at rest: {alone}", cpu,
               [*(cycles.rows(carrier, sent_at, cpu, pct) if args.full_cycle else []), *effects])
    finally:
        for process in processes:
            process.kill()
        servers.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def at_rest(args: argparse.Namespace, database_url: str, redis_url: str) -> tuple:
    """What is measured with the gateways stopped: the bare aiohttp ceiling, a Redis round trip, route lookups
    alone, and the routing table's rebuild at each size."""
    return (await bare_aiohttp(min(args.messages, 20000), args.concurrency), await redis_round_trip(redis_url),
            await quiet_lookups(database_url, redis_url, args.conversations),
            await rebuild_times(database_url, redis_url, args.rebuild, args.conversations))


def report(args, relayed, latencies, end_to_end, rss, ceiling, round_trip, rebuilds, duration, delivered,
           lookup_p99, cpu, cycle_rows) -> None:
    ms = lambda seconds: f"{seconds * 1000:.1f} ms"  # noqa: E731
    rows = [
        ("machine", f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2 ** 30:.0f} GiB; Postgres, Redis, "
                    f"gateway and load generator on one box"),
        ("load", f"{args.messages} webhooks over {args.conversations} open conversations, {args.concurrency} "
                 f"at once, rate {'unlimited' if not args.rate else args.rate}, {args.processes} gateway process(es)"),
        ("relayed (carrier received)", f"{delivered} of {args.messages}"),
        ("sustained relayed messages/s", f"{relayed:.0f}"),
        ("webhooks answered/s", f"{len(latencies) / duration:.0f}"),
        ("webhook latency p50 / p95 / p99", f"{ms(pct(latencies, .5))} / {ms(pct(latencies, .95))} / "
                                            f"{ms(pct(latencies, .99))}"),
        ("end-to-end relay p50 / p99", f"{ms(pct(end_to_end, .5))} / {ms(pct(end_to_end, .99))}"),
        ("route lookup p99 (in the first gateway)", lookup_p99),
        ("gateway RSS", f"{rss:.0f} MiB" + (" (all processes)" if args.processes > 1 else "")),
        ("ceiling: bare aiohttp handler", f"{ceiling:.0f} requests/s (gateway: {relayed / ceiling:.0%} of it)"),
        ("ceiling: Redis GET round trip", f"{round_trip * 1e6:.0f} µs (webhook p50 = "
                                          f"{pct(latencies, .5) / round_trip:.0f} round trips)"),
    ]
    rows.append(("CPU per relayed message", ", ".join(f"{part} {used / max(delivered, 1) * 1e6:.0f} µs"
                                                      for part, used in cpu.items())))
    rows += cycle_rows
    for size, took, per_route in rebuilds:
        rows.append((f"rebuild routing table, {size:,} conversations", f"{took:.1f} s, "
                                                                      f"{per_route:.0f} bytes of Redis per route"))
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"| {name.ljust(width)} | {value} |")
    print(f"\nmean webhook latency {ms(statistics.mean(latencies))}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rate", type=float, default=0, help="webhooks per second; 0 for as fast as answered")
    parser.add_argument("--rebuild", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--send-concurrency", type=int, default=64, help="the gateway's queue.concurrency")
    parser.add_argument("--statements", action="store_true",
                        help="load pg_stat_statements and print where Postgres spent its time")
    parser.add_argument("--processes", type=int, default=1, help="gateway processes sharing Postgres and Redis")
    parser.add_argument("--full-cycle", action="store_true", help="the carrier calls back sent and delivered for "
                        "every message, and both parties text (bench/cycles.py)")
    uvloop.run(main(parser.parse_args()))

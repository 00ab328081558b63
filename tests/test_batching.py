"""Group commit: concurrent runs of a statement share one round trip, and one bad run fails only itself."""

from __future__ import annotations

import asyncio
from typing import NamedTuple

import asyncpg
import pytest
import redis.exceptions

from gateway.storage.batching import Batched, Pipelined
from gateway.ops.metrics import Metrics
from tests.helpers import ALEX, PAT, PROXY, wait_for


@pytest.fixture
async def pool(clean):
    pool = await asyncpg.create_pool(clean.database_url, min_size=1, max_size=2)
    yield pool
    await pool.close()


class Allow(NamedTuple):  # the test statements' parameters, in $n order
    community_id: int
    phone: str


class Echo(NamedTuple):
    n: int


async def _running(statement: Batched):
    task = asyncio.create_task(statement.run())
    await asyncio.sleep(0)
    return task


async def _stop(task: asyncio.Task) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_webhooks_arriving_together_are_stored_in_one_batch(gateway, db):
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    store, registry = gateway.statements.store_relayed, gateway.metrics.registry

    def stored(sample: str) -> float:
        return registry.get_sample_value(f"gateway_batch_size_{sample}", {"statement": "store_relayed"}) or 0

    async def all_at_the_store() -> bool:  # in the batch held up by the lock, or waiting behind it
        return stored("sum") + store.waiting == 20

    # Hold the conversation row: the first batch waits on it while the other webhooks gather behind it.
    async with db.transaction():
        await db.execute("SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE", conversation["id"])
        sending = [asyncio.create_task(gateway.sms(PAT, PROXY, f"question {n}")) for n in range(20)]
        await wait_for(all_at_the_store, what="every webhook at the store, behind the first batch")
    answers = await asyncio.gather(*sending)
    assert [status for status, _ in answers] == [200] * 20
    bodies = await gateway.delivered_to(ALEX, 21)
    assert sorted(b for b in bodies if b.startswith("question")) == sorted(f"question {n}" for n in range(20))
    assert stored("sum") == 20
    assert stored("count") <= 3  # the held-up batch, then one or two for the rest: not 20 commits


async def test_a_failing_run_fails_only_its_caller_and_nothing_is_stored_twice(pool, db):
    metrics = Metrics()
    await db.execute("INSERT INTO communities (name) VALUES ('Acme')")
    statement = Batched("allow", "INSERT INTO allow_list (community_id, phone) VALUES ($1, $2) RETURNING phone",
                        pool, metrics, max_size=10)
    # Three callers in one batch; the middle one names a community that does not exist.
    calls = [statement.fetchrow(Allow(1, "+14155550001")), statement.fetchrow(Allow(99, "+14155550002")),
             statement.fetchrow(Allow(1, "+14155550003"))]
    task = await _running(statement)
    try:
        results = await asyncio.gather(*calls, return_exceptions=True)
    finally:
        await _stop(task)
    assert results[0]["phone"] == "+14155550001" and results[2]["phone"] == "+14155550003"
    assert isinstance(results[1], asyncpg.ForeignKeyViolationError)
    assert await db.fetchval("SELECT count(*) FROM allow_list") == 2
    assert metrics.registry.get_sample_value("gateway_batch_splits_total", {"statement": "allow"}) == 1


async def test_a_caller_waiting_when_the_batch_stops_gets_an_error(pool):
    statement = Batched("sleep", "SELECT pg_sleep($1::float8) AS slept", pool, Metrics(), max_size=10)
    task = await _running(statement)
    call = asyncio.create_task(statement.fetchrow((5,)))
    await asyncio.sleep(0.2)
    await _stop(task)
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(call, 1)


async def test_a_burst_beyond_the_redis_pool_waits_for_a_connection(start_gateway):
    gateway = await start_gateway(redis={"max_connections": 2}, queue={"concurrency": 8})
    community = await gateway.community()
    await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    answers = await asyncio.gather(*(gateway.sms(PAT, PROXY, f"burst {n}") for n in range(30)))
    assert [status for status, _ in answers] == [200] * 30
    await gateway.delivered_to(ALEX, 31)
    registry = gateway.metrics.registry
    fallbacks = [s for m in registry.collect() if m.name == "gateway_redis_fallbacks" for s in m.samples
                 if s.name.endswith("_total") and s.value]
    assert fallbacks == []


async def test_redis_commands_of_concurrent_callers_share_a_pipeline_and_keep_their_own_replies(redis_client):
    metrics = Metrics()
    pipelined = Pipelined(redis_client, metrics, max_size=64)
    await redis_client.set("text", "not a number")
    calls = [pipelined.execute(lambda pipe, n=n: (pipe.incrby("counter", n), pipe.get("counter")))
             for n in (1, 2, 3)]
    calls.insert(1, pipelined.execute(lambda pipe: pipe.incr("text")))  # fails, alone
    task = await _running(pipelined)
    try:
        results = await asyncio.gather(*calls, return_exceptions=True)
    finally:
        await _stop(task)
    assert [results[0], results[2], results[3]] == [[1, "1"], [3, "3"], [6, "6"]]
    assert isinstance(results[1], redis.exceptions.ResponseError)
    assert metrics.registry.get_sample_value("gateway_batch_size_count", {"statement": "redis"}) == 1


async def test_a_batch_runs_in_lock_order_and_each_caller_still_gets_its_own_row(pool):
    # record_accepted sorts a batch by the rows it locks; the answers must still reach the right callers.
    statement = Batched("echo", "SELECT $1::int AS n, clock_timestamp() AS at",
                        pool, Metrics(), max_size=10, order=lambda run: -run.n)
    calls = [statement.fetchrow(Echo(n)) for n in (1, 2, 3)]
    task = await _running(statement)
    try:
        rows = await asyncio.gather(*calls)
    finally:
        await _stop(task)
    assert [row["n"] for row in rows] == [1, 2, 3]
    assert rows[2]["at"] < rows[1]["at"] < rows[0]["at"]  # run as 3, 2, 1: the order asked for

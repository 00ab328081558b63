"""The background tasks' owner: failures counted and survived, crashes restarted, shutdown always finishes."""

import asyncio

import redis.asyncio as aioredis

from gateway.ops.metrics import Metrics
from gateway.ops.tasks import Supervisor


async def test_failing_step_is_counted_and_the_loop_goes_on():
    metrics, calls = Metrics(), []

    async def step():
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("boom")

    tasks = Supervisor(metrics, restart_delay=0.01)
    tasks.every("flaky", 0.01, step)
    while len(calls) < 4:
        await asyncio.sleep(0.01)
    await tasks.stop()
    assert metrics.registry.get_sample_value("gateway_task_failures_total", {"task": "flaky"}) == 2


async def test_crashed_loop_is_restarted():
    metrics, starts = Metrics(), []

    async def run():
        starts.append(1)
        raise RuntimeError("crash")

    tasks = Supervisor(metrics, restart_delay=0.01)
    tasks.loop("crashy", run)
    while len(starts) < 3:
        await asyncio.sleep(0.01)
    await tasks.stop()
    assert metrics.registry.get_sample_value("gateway_task_restarts_total", {"task": "crashy"}) >= 2


async def test_stop_finishes_even_when_a_library_swallows_the_cancel(clean):
    """redis-py can swallow a cancellation mid-command; the owner must still stop its loops."""
    client = aioredis.from_url(clean.redis_url)
    tasks = Supervisor(Metrics(), restart_delay=0.01)
    tasks.every("busy", 0.0, lambda: client.get("x"))
    for attempt in range(50):
        await asyncio.sleep(0.001 * (attempt % 5))
        await asyncio.wait_for(tasks.stop(), 2)
        tasks.every("busy", 0.0, lambda: client.get("x"))
    await asyncio.wait_for(tasks.stop(), 2)
    await client.aclose()


async def test_once_steps_run_once_per_period_across_processes(clean):
    client = aioredis.from_url(clean.redis_url)
    runs = []

    async def step():
        runs.append(1)

    owners = [Supervisor(Metrics(), restart_delay=0.01, redis=client) for _ in range(3)]
    for owner in owners:
        owner.every("shared", 0.2, step, once=True)
    await asyncio.sleep(0.5)
    for owner in owners:
        await owner.stop()
    await client.aclose()
    assert 2 <= len(runs) <= 3  # one per 0.2 s period, not three

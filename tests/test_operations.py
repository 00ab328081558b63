"""Running it for real (issue 16): every setting from the environment, --help, readiness when Redis is away, the
metrics token, the operations port, the access log and the ready line, the series that exist at 0."""

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from gateway import config as settings
from gateway.keys import METRICS
from tests.conftest import Servers, free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("variable, text, read", [
    ("GATEWAY_QUEUE__CONCURRENCY", "7", lambda c: c.queue.concurrency == 7),
    ("GATEWAY_LIMITS__DAILY_LEVELS", "5,6", lambda c: c.limits.daily_levels == [5, 6]),
    ("GATEWAY_SERVER__READY_REQUIRES_REDIS", "true", lambda c: c.server.ready_requires_redis is True),
    ("GATEWAY_MEDIA__RETENTION_DAYS", "3", lambda c: c.media.retention_days == 3),
    ("GATEWAY_TWILIO__AUTH_TOKEN", "tok", lambda c: c.per_carrier["twilio"].auth_token == "tok"),
    ("GATEWAY_SERVER__API_TOKENS", '{"ops": "t1"}', lambda c: c.server.api_tokens == {"ops": "t1"}),
    ("GATEWAY_LOG__ACCESS", "false", lambda c: c.log.access is False),
])
def test_every_setting_by_the_rule(variable, text, read):
    assert read(settings.load({variable: text}))


@pytest.mark.parametrize("variable, text, error", [
    ("GATEWAY_QUEUE__CONCURENCY", "7", "GATEWAY_QUEUE__CONCURENCY: names no setting"),
    ("GATEWAY_NOPE__X", "1", "GATEWAY_NOPE__X: names no setting"),
    ("GATEWAY_QUEUE__CONCURRENCY", "many", "queue.concurrency: expected int, got 'many'"),
    ("GATEWAY_LIMITS__DAILY_LEVELS", "5,x", "GATEWAY_LIMITS__DAILY_LEVELS: expected whole numbers"),
    ("GATEWAY_SERVER__API_TOKENS", "{nope", "GATEWAY_SERVER__API_TOKENS: expected a JSON object"),
    ("GATEWAY_SERVER__OPS_PORT", "8080", "server.ops_port: must be 0 (off) or a port 1-65535 other than"),
    ("GATEWAY_SERVER__OPS_PORT", "70000", "server.ops_port: must be 0 (off)"),
])
def test_a_bad_variable_is_one_error_naming_it(variable, text, error):
    with pytest.raises(settings.ConfigError) as caught:
        settings.load({variable: text})
    assert str(caught.value).startswith(error)


def test_help_lists_the_commands_and_every_variable():
    result = subprocess.run([sys.executable, "run.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0
    for expected in ("serve", "migrate", "DATABASE_URL", "GATEWAY_API_TOKEN", "GATEWAY_QUEUE__CONCURRENCY",
                     "GATEWAY_TWILIO__AUTH_TOKEN", "TWILIO_AUTH_TOKEN"):
        assert expected in result.stdout


async def test_redis_away_is_degraded_or_not_ready_as_configured(start_gateway, clean, own_redis):
    redis_url = own_redis.start_redis()
    servers = Servers(clean.database_url, redis_url, own_redis)
    lenient = await start_gateway(servers=servers)
    strict = await start_gateway(servers=servers, server={"ready_requires_redis": True})
    for gateway in (lenient, strict):
        status, body = await gateway.call("GET", "/readyz", token=None)
        assert (status, body["status"]) == (200, "ready")
    own_redis.stop()
    status, body = await lenient.call("GET", "/readyz", token=None)
    assert (status, body["status"], body["checks"]["redis"]) == (200, "degraded", "unavailable")
    status, body = await strict.call("GET", "/readyz", token=None)
    assert (status, body["status"]) == (503, "not_ready")
    assert lenient.client.app[METRICS].registry.get_sample_value("gateway_redis_up") == 0
    own_redis.start_redis()
    status, body = await lenient.call("GET", "/readyz", token=None)
    assert (status, body["status"]) == (200, "ready")
    assert lenient.client.app[METRICS].registry.get_sample_value("gateway_redis_up") == 1


async def test_metrics_token(start_gateway):
    gateway = await start_gateway(server={"metrics_token": "scrape-me"})
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "scrape-me"}):
        async with gateway.client.get("/metrics", headers=headers) as response:
            assert response.status == 401
            assert (await response.json())["error"]["code"] == "unauthorized"
    async with gateway.client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}) as response:
        assert response.status == 200 and "gateway_build_info" in await response.text()
    async with gateway.client.get("/healthz") as response:  # health checks stay open to the balancer
        assert response.status == 200


async def test_series_exist_at_zero_from_the_start(start_gateway):
    gateway = await start_gateway()
    text = await (await gateway.client.get("/metrics")).text()
    for series in ('gateway_sends_total{result="failed"} 0.0', 'gateway_messages_blocked_total{reason="dnd"} 0.0',
                   'gateway_messages_held_total{reason="daily_limit"} 0.0',
                   'gateway_task_failures_total{task="sweep"} 0.0', "process_cpu_seconds_total",
                   "python_gc_collections_total", 'gateway_build_info{python=', "gateway_redis_up 1.0"):
        assert series in text, series


def _env(clean, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "TWILIO_", "CARRIER"))}
    env.update({"DATABASE_URL": clean.database_url, "REDIS_URL": clean.redis_url, "GATEWAY_API_TOKEN": "t",
                **extra})
    return env


async def _get(session: aiohttp.ClientSession, url: str, **kwargs) -> tuple[int, str]:
    async with session.get(url, **kwargs) as response:
        return response.status, await response.text()


async def test_the_process_on_two_ports_logs_ready_and_each_request(clean):
    port, ops_port = free_port(), free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "run.py", cwd=ROOT, env=_env(clean, GATEWAY_PORT=str(port),
                                                     GATEWAY_SERVER__OPS_PORT=str(ops_port)),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        ready = json.loads(await asyncio.wait_for(_line_with(process, '"gateway_ready"'), 60))
        assert ready["url"] == f"http://127.0.0.1:{port}" and ready["ops_port"] == ops_port
        main, ops = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{ops_port}"
        async with aiohttp.ClientSession() as session:
            assert (await _get(session, ops + "/readyz"))[0] == 200
            assert (await _get(session, ops + "/metrics"))[0] == 200
            status, text = await _get(session, main + "/metrics")
            assert status == 404 and json.loads(text)["error"]["code"] == "not_found"
            assert (await _get(session, ops + "/v1/communities", headers={"Authorization": "Bearer t"}))[0] == 404
            assert (await _get(session, main + "/v1/communities/1", headers={"Authorization": "Bearer t"}))[0] \
                == 404  # no such community: served on the main port
        access = json.loads(await asyncio.wait_for(_line_with(process, '"request_served"'), 10))
        assert access["route"] and access["status"] and "duration_ms" in access and "path" not in access
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0


async def _line_with(process, marker: str) -> str:
    while line := await process.stdout.readline():
        if marker in line.decode():
            return line.decode()
    raise AssertionError(f"the process ended without a {marker} line: {(await process.stderr.read()).decode()}")

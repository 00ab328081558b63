"""The gateway as a real process: `python run.py` and `python run.py migrate`, start-up errors, SIGTERM."""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


def _env(clean, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "TWILIO_", "CARRIER"))}
    env.update({"DATABASE_URL": clean.database_url, "REDIS_URL": clean.redis_url, **extra})
    return env


def test_bad_setting_stops_start_up_with_one_line(clean):
    result = subprocess.run([sys.executable, "run.py"], cwd=ROOT, env=_env(clean, GATEWAY_PORT="eighty"),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["configuration error: server.port: expected int, got 'eighty'"]


def test_unreachable_database_is_one_line(clean):
    port = free_port()
    result = subprocess.run([sys.executable, "run.py", "migrate"], cwd=ROOT,
                            env=_env(clean, DATABASE_URL=f"postgresql://x@127.0.0.1:{port}/x"),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "could not reach" in result.stderr


def test_migrate_command_applies_nothing_twice(clean):
    result = subprocess.run([sys.executable, "run.py", "migrate"], cwd=ROOT, env=_env(clean),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert '"applied": []' in result.stdout


async def test_serves_then_stops_cleanly_on_sigterm(clean):
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "run.py", cwd=ROOT, env=_env(clean, GATEWAY_PORT=str(port), GATEWAY_API_TOKEN="t"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the gateway never became ready")
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    assert b'"event": "gateway_stopped"' in stdout

"""The gateway as a real process: `python run.py` and `python run.py migrate`, start-up errors, SIGTERM."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp

from gateway.ops.embedded import _ping
from tests.conftest import free_port
from tests.helpers import wait_for

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
            for _ in range(600):  # a minute: a new interpreter's start-up is slow on a loaded machine
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


def _embedded_env(tmp_path, redis_port: int, **extra) -> dict:
    """No server URLs: the process starts its own under tmp_path/var, Valkey on redis_port."""
    config = tmp_path / "gateway.toml"
    config.write_text(f'[embedded]\ndata_dir = "{tmp_path / "var"}"\nredis_port = {redis_port}\n')
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GATEWAY_", "TWILIO_", "CARRIER", "DATABASE_URL", "REDIS_URL"))}
    env.update({"GATEWAY_CONFIG": str(config), **extra})
    return env


def test_a_busy_port_says_so_in_one_line_and_starts_nothing(clean, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, str(ROOT / "run.py")], cwd=tmp_path,
                                env=_embedded_env(tmp_path, free_port(), GATEWAY_PORT=str(port)),
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"start-up failed: port {port} is in use on 127.0.0.1; stop what listens there or set GATEWAY_PORT "
        "(server.port)"]
    assert not (tmp_path / "var" / "postgres").exists()  # no embedded server was started for nothing


def test_a_valkey_of_another_folder_is_never_used(own_redis, tmp_path):
    own_redis.start_redis()  # a Valkey of another data folder, on the port this process is told to use
    mine = tmp_path / "mine"
    mine.mkdir()
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "migrate"], cwd=mine,
                            env=_embedded_env(mine, own_redis.redis_port), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"start-up failed: port {own_redis.redis_port} is in use by a server that is not the embedded Valkey "
        f"of {(mine / 'var').resolve()}; set embedded.redis_port to a free port"]


def _postgres_running(data_dir) -> bool:
    return (data_dir / "postgres" / "postmaster.pid").exists()


async def test_embedded_servers_belong_to_their_folder(tmp_path):
    """A second process on the same folder is refused; servers left by a killed owner are adopted and stopped."""
    redis_port, port = free_port(), free_port()
    env = _embedded_env(tmp_path, redis_port, GATEWAY_PORT=str(port))
    first = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "run.py"), cwd=tmp_path, env=env,
                                                 stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        async with aiohttp.ClientSession() as session:
            async def ready():
                try:
                    async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                        return response.status == 200
                except aiohttp.ClientError:
                    return False

            await wait_for(ready, 60, "the first gateway to be ready")
        second = subprocess.run([sys.executable, str(ROOT / "run.py"), "migrate"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert second.stderr.strip().splitlines() == [
            f"start-up failed: the embedded servers in {(tmp_path / 'var').resolve()} belong to another gateway "
            f"process (pid {first.pid}); stop it, or set embedded.data_dir and embedded.redis_port to others, "
            "or DATABASE_URL and REDIS_URL to servers of your own"]
        first.kill()  # SIGKILL: its Valkey and Postgres run on without an owner
        await first.wait()
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
    assert _ping(redis_port) and _postgres_running(tmp_path / "var")
    third = subprocess.run([sys.executable, str(ROOT / "run.py"), "migrate"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60)
    assert third.returncode == 0, third.stderr
    assert '"event": "embedded_redis_adopted"' in third.stdout
    assert not _ping(redis_port) and not _postgres_running(tmp_path / "var")  # stopped on exit, as its own

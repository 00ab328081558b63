"""deploy/: the alert rules pass promtool's check and its unit tests, the dashboard is what its script writes, and
every gateway series they query exists; the deployment files set valid settings and run the commands tested here
without containers (this machine has no container runtime: README "Deployment")."""

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import aiohttp
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from gateway import config as settings
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
PROMTOOL = shutil.which("promtool")
# CI installs Debian's prometheus package for promtool (.ci/run) and sets this: there the checks never skip.
needs_promtool = pytest.mark.skipif(PROMTOOL is None and not os.environ.get("GATEWAY_TEST_REQUIRE_PROMTOOL"),
                                    reason="promtool is not installed (apt-get install prometheus)")


@needs_promtool
@pytest.mark.parametrize("command", [["check", "rules", "alerts.yml"], ["test", "rules", "alerts_test.yml"]])
def test_promtool_accepts_the_rules_and_their_unit_tests(command):
    result = subprocess.run([PROMTOOL or "promtool", *command], cwd=DEPLOY / "prometheus", capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dashboard_is_what_its_script_writes():
    result = subprocess.run([sys.executable, "-c", "import build_dashboard; print(build_dashboard.render(), end='')"],
                            cwd=DEPLOY / "grafana", capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (DEPLOY / "grafana" / "sms-gateway.json").read_text(), \
        "run python deploy/grafana/build_dashboard.py"


def _queried_series() -> set[str]:
    rules = (DEPLOY / "prometheus" / "alerts.yml").read_text()
    exprs = re.findall(r"expr: (?:\|\n((?:\s{10}.*\n)+)|(.*))", rules)
    dashboard = json.loads((DEPLOY / "grafana" / "sms-gateway.json").read_text())
    texts = [a or b for a, b in exprs] + [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    return {name for text in texts for name in re.findall(r"\b((?:gateway|process|python)_[a-z_]+)", text)}


# Counters the alerts take rate() of whose labels are known in advance: they must have samples (at 0) at start.
AT_ZERO = {"gateway_sends_total", "gateway_task_failures_total", "gateway_redis_up", "gateway_send_failures_total",
           "gateway_message_statuses_total", "gateway_messages_blocked_total", "gateway_messages_held_total"}
SUFFIXES = ("", "_total", "_bucket", "_count", "_sum")


async def test_every_queried_series_exists(start_gateway):
    gateway = await start_gateway()
    text = await (await gateway.client.get("/metrics")).text()
    families = list(text_string_to_metric_families(text))
    declared = {family.name + suffix for family in families for suffix in SUFFIXES}
    with_samples = {sample.name for family in families for sample in family.samples}
    queried = _queried_series()
    assert len(queried) > 15
    assert queried - declared == set(), "a rule or panel queries a series the gateway does not have"
    assert AT_ZERO - with_samples == set(), "a series rate alerts need does not exist at 0 from the start"


# --- Deployment files: what they set is valid, what they run is what is tested here without containers ---

COMPOSE = DEPLOY / "compose" / "compose.yml"


def _deployment_environment() -> dict[str, str]:
    """Every variable the deployment files set: the Dockerfile's ENV, compose's environment, the example env file,
    the systemd unit's Environment=."""
    found: dict[str, str] = {}
    dockerfile = (ROOT / "Dockerfile").read_text()
    for block in re.findall(r"^ENV (.*?)(?<!\\)$", dockerfile, re.M | re.S):
        found |= dict(re.findall(r"(\w+)=(\S+)", block))
    compose = yaml.safe_load(COMPOSE.read_text())
    found |= {k: str(v) for k, v in compose["x-gateway"]["environment"].items()}
    example = (DEPLOY / "compose" / "gateway.env.example").read_text()
    found |= dict(re.findall(r"^(\w+)=(.*)$", example, re.M))
    unit = (DEPLOY / "systemd" / "sms-gateway.service").read_text()
    for line in re.findall(r"^Environment=(.*)$", unit, re.M):
        found |= dict(part.split("=", 1) for part in line.split())
    return found


def test_every_setting_the_deployment_files_set_is_valid():
    env = _deployment_environment()
    assert {"GATEWAY_SERVER__OPS_PORT", "GATEWAY_DATABASE__MIGRATE_ON_START", "DATABASE_URL"} <= set(env)
    config = settings.load(env)  # a typo or a bad value: ConfigError naming it
    assert config.server.ops_port == 9090 and config.database.migrate_on_start is False


def test_the_deployment_files_run_the_commands_the_cli_has():
    compose = yaml.safe_load(COMPOSE.read_text())
    commands = {service["command"][1] for service in compose["services"].values()
                if service.get("command", [None])[0] == "sms-gateway"}
    assert commands == {"serve", "migrate"}
    assert {"gateway-1", "gateway-2", "postgres", "valkey", "proxy", "prometheus", "grafana"} <= set(compose["services"])
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["sms-gateway", "health"]' in dockerfile and 'CMD ["sms-gateway", "serve"]' in dockerfile
    assert re.search(r"^USER sms-gateway$", dockerfile, re.M)
    unit = (DEPLOY / "systemd" / "sms-gateway.service").read_text()
    assert "sms-gateway migrate" in unit and "sms-gateway serve" in unit


def test_the_lock_pins_every_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {re.split(r"[<>=\[;]", dep)[0].strip().lower().replace("_", "-") for dep in project["dependencies"]}
    lock = (ROOT / "requirements.lock").read_text()
    pinned = {name.lower().replace("_", "-") for name in re.findall(r"^([\w.-]+)==", lock, re.M)}
    assert wanted - pinned == set(), "run: uv pip compile pyproject.toml --generate-hashes -o requirements.lock"
    assert lock.count("--hash=sha256:") >= len(pinned)


def _process_env(clean, port: int, ops_port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "TWILIO_", "CARRIER"))}
    return env | {k: v for k, v in _deployment_environment().items() if k.startswith("GATEWAY_")} | {
        "DATABASE_URL": clean.database_url, "REDIS_URL": clean.redis_url, "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port), "GATEWAY_SERVER__OPS_PORT": str(ops_port)}


def _run(env: dict, command: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gateway", command], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


async def test_the_containers_start_commands_without_containers(clean):
    """What compose runs: migrate once, then two gateways that do not migrate, each healthy by `health`."""
    ports = [(free_port(), free_port()) for _ in range(2)]
    envs = [_process_env(clean, port, ops) for port, ops in ports]
    migrated = _run(envs[0], "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert _run(envs[0], "health").returncode == 1  # nothing answers yet
    processes = [await asyncio.create_subprocess_exec(sys.executable, "-m", "gateway", "serve", cwd=ROOT, env=env,
                                                      stdout=asyncio.subprocess.DEVNULL,
                                                      stderr=asyncio.subprocess.PIPE) for env in envs]
    try:
        for env in envs:
            for _ in range(150):
                if (await asyncio.to_thread(_run, env, "health")).returncode == 0:
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("a gateway never became healthy")
        async with aiohttp.ClientSession() as session:
            for port, _ in ports:
                async with session.get(f"http://127.0.0.1:{port}/v1/communities",
                                       headers={"Authorization": "Bearer change-me-to-a-long-random-token"}) as answer:
                    assert answer.status == 200
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()

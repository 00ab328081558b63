"""The monitoring kit in deploy/: the alert rules pass promtool's check and its unit tests, the dashboard is what
its script writes, and every gateway series the rules and the dashboard query exists in a gateway's /metrics."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

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

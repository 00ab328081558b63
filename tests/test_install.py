"""The wheel built from this repository, installed into a fresh virtual environment, run from another folder.

The dependencies come from this environment (a .pth file), so the test needs no package index beyond what
building the wheel asks for; .ci/run installs the wheel with its dependencies from the index as well.
"""

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
NOT_SOURCE = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                                    ".hypothesis", "var", ".venv", "tests", "bench")


def _run(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)


def _fresh_install(tmp_path: Path) -> Path:
    """A new virtual environment with only the wheel installed in it; returns its bin folder."""
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)  # a copy, so no stale build/ of a checkout leaks in
    built = _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path / "dist"),
                 str(source))
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    venv = tmp_path / "venv"
    created = _run(sys.executable, "-m", "venv", str(venv))
    assert created.returncode == 0, created.stderr
    bin_dir = venv / "bin"
    site = _run(str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site.stdout.strip(), "deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    installed = _run(str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                     str(wheel))
    assert installed.returncode == 0, installed.stderr
    return bin_dir


def _env(clean, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "TWILIO_", "CARRIER", "PYTHON"))}
    env.update({"DATABASE_URL": clean.database_url, "REDIS_URL": clean.redis_url, **extra})
    return env


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def test_the_wheel_installs_and_runs_from_any_folder(clean, tmp_path):
    bin_dir = _fresh_install(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run(str(bin_dir / "python"), "-c", "from gateway.storage import db, migrate; print(db.__file__); "
                 "print(len(db.QUERIES.names()), len(migrate.available()))", cwd=elsewhere, env=_env(clean))
    assert where.returncode == 0, where.stderr
    module, queries, migrations = where.stdout.split()
    assert module.startswith(str(tmp_path / "venv")), module
    assert (int(queries), int(migrations)) == (len(list((ROOT / "sql" / "queries").glob("*.sql"))),
                                               len(list((ROOT / "sql" / "migrations").glob("*.sql"))))

    for command in ([str(bin_dir / "sms-gateway"), "--help"], [str(bin_dir / "python"), "-m", "gateway", "--help"]):
        helped = _run(*command, cwd=elsewhere, env=_env(clean))
        assert helped.returncode == 0 and "{serve,migrate,health}" in helped.stdout, helped
    migrated = _run(str(bin_dir / "sms-gateway"), "migrate", cwd=elsewhere, env=_env(clean))
    assert migrated.returncode == 0 and '"applied": []' in migrated.stdout, migrated

    port = free_port()
    server = subprocess.Popen([str(bin_dir / "python"), "-m", "gateway", "serve"], cwd=elsewhere,
                              env=_env(clean, GATEWAY_PORT=str(port)), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not _healthy(port):
            assert server.poll() is None, server.communicate()
            assert time.monotonic() < deadline, "the installed gateway never answered /healthz"
            time.sleep(0.1)
        server.send_signal(signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == 0, stderr
    assert '"event": "gateway_stopped"' in stdout

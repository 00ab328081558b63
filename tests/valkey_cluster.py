"""A real Valkey cluster for the tests: three primaries with a replica each, from the embedded Valkey binary, on free
ports, started with valkey-cli --cluster create. kill(port) stops a node with SIGKILL (a crash), so its replica is
promoted after cluster-node-timeout."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from gateway.ops.embedded import VALKEY_BIN

CLI = VALKEY_BIN.with_name("valkey-cli")
NODE_TIMEOUT_MS = 1000


def _free_pair() -> int:
    """A port whose cluster bus port (port + 10000) is free too."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + 10000 < 65536:
            with socket.socket() as bus:
                try:
                    bus.bind(("127.0.0.1", port + 10000))
                    return port
                except OSError:
                    continue


class ValkeyCluster:
    def __init__(self, directory: Path, nodes: int = 6) -> None:
        self.directory = directory
        self.ports = [_free_pair() for _ in range(nodes)]
        self.processes: dict[int, subprocess.Popen] = {}

    @property
    def url(self) -> str:
        """A live node's address: the client learns the others from it."""
        return f"redis+cluster://127.0.0.1:{self.live()}/0"

    def start(self) -> ValkeyCluster:
        for port in self.ports:
            self.start_node(port)
        command = [str(CLI), "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
                   "--cluster-replicas", "1", "--cluster-yes"]
        subprocess.run(command, check=True, capture_output=True, timeout=60)
        self.wait_ok()
        self.wait_replicas()
        return self

    def wait_replicas(self, timeout: float = 30.0) -> None:
        """Until every replica's link to its primary is up (it can take over)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            infos = [self.cli(port, "info", "replication") for port in self.ports]
            replicas = [info for info in infos if "role:slave" in info]
            if len(replicas) == len(self.ports) // 2 and all("master_link_status:up" in i for i in replicas):
                return
            time.sleep(0.1)
        raise RuntimeError("the replicas did not sync")

    def start_node(self, port: int) -> None:
        home = self.directory / str(port)
        home.mkdir(parents=True, exist_ok=True)
        log = open(home / "valkey.log", "ab")
        self.processes[port] = subprocess.Popen(
            [str(VALKEY_BIN), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(home), "--cluster-enabled",
             "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
             "--cluster-replica-validity-factor", "0",
             "--appendonly", "yes", "--save", "", "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 10
        while self.cli(port, "ping") != "PONG":
            if time.monotonic() > deadline:
                raise RuntimeError(f"valkey node {port} did not start")
            time.sleep(0.05)

    def cli(self, port: int, *args: str) -> str:
        done = subprocess.run([str(CLI), "-p", str(port), *args], capture_output=True, text=True, timeout=10)
        return done.stdout.strip()

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Until every live node says the cluster is ok (all slots served)."""
        deadline = time.monotonic() + timeout
        while True:
            states = [self.cli(port, "cluster", "info") for port, p in self.processes.items() if p.poll() is None]
            if states and all("cluster_state:ok" in state for state in states):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not become ok")
            time.sleep(0.1)

    def live(self) -> int:
        return next(port for port, process in self.processes.items() if process.poll() is None)

    def primary_of(self, key: str) -> int:
        """The port of the primary that serves key's slot, as a live node sees it."""
        slot = int(self.cli(self.live(), "cluster", "keyslot", key))
        for line in self.cli(self.live(), "cluster", "nodes").splitlines():
            fields = line.split()
            if "master" in fields[2] and "fail" not in fields[2]:
                for span in fields[8:]:
                    low, _, high = span.partition("-")
                    if low.isdigit() and int(low) <= slot <= int(high or low):
                        return int(fields[1].split(":")[1].split("@")[0])
        raise RuntimeError(f"no primary serves slot {slot}")

    def kill(self, port: int) -> None:
        self.processes[port].send_signal(signal.SIGKILL)
        self.processes[port].wait(10)

    def wait_promoted(self, key: str, old: int, timeout: float = 30.0) -> int:
        """Until a replica took over key's slot from the killed primary old; its port."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                primary = self.primary_of(key)
            except RuntimeError:
                primary = old
            if primary != old:
                self.wait_ok(timeout)
                return primary
            time.sleep(0.1)
        raise RuntimeError("no replica was promoted")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait(10)
        shutil.rmtree(self.directory, ignore_errors=True)

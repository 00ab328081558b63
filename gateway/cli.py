"""The command line: `serve` (the default) runs the gateway, `migrate` applies migrations and exits.

The same main() backs `python run.py` in a checkout, `python -m gateway` and the `sms-gateway` script of an
installed wheel. With no DATABASE_URL / REDIS_URL set, embedded PostgreSQL and Valkey servers are started
under embedded.data_dir and stopped again on exit (see gateway/embedded.py for who owns them).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import socket
import urllib.error
import urllib.request
import sys

import structlog
import uvloop
from aiohttp import web

from gateway import config as settings
from gateway.ops import logs
from gateway.storage import migrate
from gateway.app import create_app
from gateway.ops.embedded import EmbeddedError, EmbeddedServers, port_in_use


class PortInUse(Exception):
    """The server port is taken; one line for the operator."""

    def __init__(self, host: str, port: int, setting: str = "GATEWAY_PORT (server.port)") -> None:
        super().__init__(f"port {port} is in use on {host or 'all interfaces'}; stop what listens there "
                         f"or set {setting}")


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="SMS relay gateway. Settings: config.toml "
                                     "(or GATEWAY_CONFIG), then the environment variables below.",
                                     epilog=settings.environment_help(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="serve", choices=("serve", "migrate", "health"),
                        help="serve: run the gateway (the default); migrate: apply pending migrations and exit; "
                             "health: exit 0 when the gateway on this host answers /readyz with 200 (a container's "
                             "health check), else 1")
    return parser


def main(argv: list[str] | None = None, prog: str = "sms-gateway") -> int:
    """Exit status: 0 done, 1 start-up failed (one line on stderr), 2 bad command line or settings."""
    command = _parser(prog).parse_args(argv).command
    try:
        config = settings.load()
    except settings.ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if command == "health":
        return _health(config.server)
    logs.configure(config)
    servers = EmbeddedServers(config.embedded.data_dir, config.embedded.redis_port)
    try:
        # Before anything starts, so a clash costs nothing and is not reported as something else.
        for port, setting in ((config.server.port, "GATEWAY_PORT (server.port)"),
                              (config.server.ops_port, "GATEWAY_SERVER__OPS_PORT (server.ops_port)")):
            if command == "serve" and port and port_in_use(config.server.host, port):
                raise PortInUse(config.server.host, port, setting)
        config = _with_embedded(config, servers)
        if command == "migrate":
            applied = asyncio.run(migrate.migrate_url(config.database.url))
            structlog.get_logger("run").info("migrations_done", applied=applied)
            return 0
        return _serve(config)
    except (EmbeddedError, PortInUse) as exc:
        print(f"start-up failed: {exc}", file=sys.stderr)
        return 1
    except (OSError, ConnectionError) as exc:
        print(f"start-up failed: could not reach a server ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    finally:
        servers.stop()


def _with_embedded(config: settings.Config, servers: EmbeddedServers) -> settings.Config:
    """The configuration with the embedded servers' URLs wherever it names no server of its own."""
    log = structlog.get_logger("run")
    if not config.redis.url:
        config = config.replace(redis={"url": servers.start_redis()})
        log.info("embedded_redis_started", port=config.embedded.redis_port, data_dir=str(servers.data_dir))
    if not config.database.url:
        config = config.replace(database={"url": servers.start_postgres()})
        log.info("embedded_postgres_started", data_dir=str(servers.data_dir))
    return config


def _serve(config: settings.Config) -> int:
    log = structlog.get_logger("run")
    if not config.server.api_tokens:
        log.warning("api_token_missing", hint="set GATEWAY_API_TOKEN; the /v1 API answers 401 until then")
    server = config.server
    log.info("gateway_starting", host=server.host, port=server.port, carrier=config.carrier.name)
    where = {"host": server.host, "port": server.port}
    if server.ops_port:
        # Two listening sockets for one application: ops.ops_port_middleware tells them apart.
        where = {"sock": [_listen(server.host, server.port, "GATEWAY_PORT (server.port)"),
                          _listen(server.host, server.ops_port, "GATEWAY_SERVER__OPS_PORT (server.ops_port)")]}
    local = f"http://{server.host or '0.0.0.0'}:{server.port}"
    try:
        web.run_app(create_app(config), **where, shutdown_timeout=config.carrier.send_timeout, access_log=None,
                    loop=uvloop.new_event_loop(),
                    print=lambda _: log.info("gateway_ready", url=local, public_url=server.public_url or local,
                                             ops_port=server.ops_port or server.port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:  # taken between the check and the bind
            raise PortInUse(server.host, server.port) from None
        raise
    log.info("gateway_stopped")
    return 0


def _listen(host: str, port: int, setting: str) -> socket.socket:
    try:
        return socket.create_server((host, port), backlog=128)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(host, port, setting) from None
        raise


def _health(server: settings.ServerSettings) -> int:
    """GET /readyz on the operations port (or the main one) of this host; prints the answer's status."""
    host = server.host if server.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    url = f"http://{host}:{server.ops_port or server.port}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            print(json.load(response).get("status"))
            return 0
    except urllib.error.HTTPError as exc:
        print(f"not ready: {exc.code}", file=sys.stderr)
    except (OSError, ValueError) as exc:
        print(f"not answering: {type(exc).__name__}", file=sys.stderr)
    return 1

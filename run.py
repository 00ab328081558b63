"""Entry point: `python run.py` serves the gateway, `python run.py migrate` applies migrations and exits.

With no DATABASE_URL / REDIS_URL set, embedded PostgreSQL and Valkey servers are started under ./var
and stopped again on exit.
"""

from __future__ import annotations

import asyncio
import sys

import structlog
import uvloop
from aiohttp import web

from gateway import config as settings
from gateway import logs, migrate
from gateway.app import create_app
from gateway.embedded import EmbeddedError, EmbeddedServers

USAGE = "usage: python run.py [serve|migrate]"


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "serve"
    if command not in ("serve", "migrate") or len(argv) > 1:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        config = settings.load()
    except settings.ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    logs.configure(config)
    log = structlog.get_logger("run")
    servers = EmbeddedServers(config.embedded.data_dir, config.embedded.redis_port)
    try:
        if not config.database.url:
            config = config.replace(database={"url": servers.start_postgres()})
            log.info("embedded_postgres_started")
        if not config.redis.url:
            config = config.replace(redis={"url": servers.start_redis()})
            log.info("embedded_redis_started", port=config.embedded.redis_port)
        if command == "migrate":
            applied = asyncio.run(migrate.migrate_url(config.database.url))
            log.info("migrations_done", applied=applied)
            return 0
        if not config.server.api_tokens:
            log.warning("api_token_missing", hint="set GATEWAY_API_TOKEN; the /v1 API answers 401 until then")
        log.info("gateway_starting", host=config.server.host, port=config.server.port, carrier=config.carrier.name)
        web.run_app(create_app(config), host=config.server.host, port=config.server.port, print=None,
                    shutdown_timeout=config.carrier.send_timeout, access_log=None, loop=uvloop.new_event_loop())
        log.info("gateway_stopped")
        return 0
    except EmbeddedError as exc:
        print(f"start-up failed: {exc}", file=sys.stderr)
        return 1
    except (OSError, ConnectionError) as exc:
        print(f"start-up failed: could not reach a server ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    finally:
        servers.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

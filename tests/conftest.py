"""Embedded servers once per session (or DATABASE_URL / REDIS_URL), a clean database per test, the fake carrier."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import redis.asyncio as aioredis

from gateway.storage import migrate
from gateway.app import create_app
from gateway.config import Config, from_dict
from gateway.ops import logs
from gateway.ops.embedded import EmbeddedServers
from tests.fakes import ACCOUNT_SID, AUTH_TOKEN, FakeLookup, FakeTwilio, HookReceiver
from gateway.keys import ROUTES
from tests.fakes_plivo import FakePlivo
from tests.fakes_telnyx import API_KEY as TELNYX_KEY, FakeTelnyx
from tests.fakes_vonage import API_KEY as VONAGE_KEY, API_SECRET as VONAGE_SECRET, FakeVonage
from tests.fakes_vonage import SIGNATURE_SECRET as VONAGE_SIGNATURE
from tests.helpers import TOKEN, Gateway, wait_for

TEST_DATABASE = "gateway_test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_socket() -> socket.socket:
    """A socket bound to a free port and kept: a port only looked up (free_port) can be taken by another process
    before the server binds it ("Address already in use" with two suites on one machine)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass(frozen=True)
class Servers:
    database_url: str
    redis_url: str
    embedded: EmbeddedServers


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


async def _fresh_database(url: str) -> str:
    """A new, migrated gateway_test database on the server, so tests never touch another database."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {TEST_DATABASE} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {TEST_DATABASE}")
    finally:
        await conn.close()
    test_url = _with_database(url, TEST_DATABASE)
    await migrate.migrate_url(test_url)
    return test_url


LOGS_AS_THE_GATEWAY_WRITES_THEM = from_dict({"log": {"format": "json", "level": "warning"}})


@pytest.fixture(autouse=True)
def logs_as_the_gateway_writes_them():
    """Each test starts with logs configured as the gateway configures them (cli.py): JSON, warnings and up.
    Unconfigured (or reset by a test), structlog renders a traceback with rich when rich is installed
    (schemathesis brings it), locals and all, slowly enough (pygments) that a loop logging failures stalls for
    seconds: sends then time out and are sent again."""
    logs.configure(LOGS_AS_THE_GATEWAY_WRITES_THEM)


@pytest.fixture(scope="session")
def servers(tmp_path_factory) -> Servers:
    embedded = EmbeddedServers(tmp_path_factory.mktemp("var"), free_port())
    try:
        database_url = os.environ.get("DATABASE_URL") or embedded.start_postgres()
        redis_url = os.environ.get("REDIS_URL") or embedded.start_redis()
        yield Servers(asyncio.run(_fresh_database(database_url)), redis_url, embedded)
    finally:
        embedded.stop()


@pytest.fixture
async def clean(servers: Servers) -> Servers:
    """Every test starts from empty tables and an empty Redis database."""
    conn = await asyncpg.connect(servers.database_url)
    try:
        tables = [r["tablename"] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'")]
        await conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
    client = aioredis.from_url(servers.redis_url)
    await client.flushdb()
    await client.aclose()
    return servers


@pytest.fixture
async def db(clean: Servers):
    conn = await asyncpg.connect(clean.database_url)
    yield conn
    await conn.close()


@pytest.fixture
async def redis_client(clean: Servers):
    client = aioredis.from_url(clean.redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def _serve(aiohttp_server, fake, path: str = ""):
    """Run a fake on a local port; fake.url is where it answers."""
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url(path)).rstrip("/")
    return fake


@pytest.fixture
async def fake_twilio(aiohttp_server) -> FakeTwilio:
    fake = await _serve(aiohttp_server, FakeTwilio())
    fake.media.url = fake.url  # its media is on its API's host, as Twilio's is
    return fake


@pytest.fixture
async def fake_lookup(aiohttp_server) -> FakeLookup:
    return await _serve(aiohttp_server, FakeLookup())


@pytest.fixture
async def hook_receiver(aiohttp_server) -> HookReceiver:
    return await _serve(aiohttp_server, HookReceiver(), "/hook")


@pytest.fixture
def own_redis(tmp_path):
    """A Redis-compatible server of this test's own, to stop and start."""
    servers = EmbeddedServers(tmp_path, free_port())
    yield servers
    servers.stop()


async def _resolved(value):
    return value


def make_config(servers: Servers, port: int, carrier_url: str | None, **sections) -> Config:
    """Test settings: fast loops, a pinned port so callback URLs reach the test server."""
    raw = {
        "server": {"port": port, "public_url": f"http://127.0.0.1:{port}", "api_tokens": {"tests": TOKEN}},
        "database": {"url": servers.database_url, "pool_min": 1, "pool_max": 5, "command_timeout": 2.0},
        "redis": {"url": servers.redis_url, "timeout": 0.5},
        "carrier": {"name": "twilio" if carrier_url else "sandbox", "retry_base": 0.05, "retry_cap": 0.2,
                    "max_attempts": 3, "send_timeout": 2.0},
        "sandbox": {"delivery_delay": 0.05, "auth_token": "sandbox-test-token"},
        "twilio": {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "api_base": carrier_url or "http://x"},
        "relay": {"per_number_rate": 1000.0},
        "lookup": {"name": "sandbox", "timeout": 1.0},
        "verification": {"secret": "test-verification-secret"},
        "hooks": {"secret": "test-webhook-secret", "interval": 0.05, "timeout": 1.0},
        "limits": {"reset_interval": 0.2},
        "queue": {"poll_interval": 0.02, "lease_seconds": 5.0, "sweep_interval": 0.2, "sweep_after": 0.5},
        "tasks": {"expiry_interval": 0.2, "restart_delay": 0.1, "routes_check_interval": 0.2},
        "log": {"level": "warning", "format": "json"},
        # Media only from the fakes: a payload's real carrier URL is never asked (failed at once).
        "media": {"fetch_hosts": "127.0.0.1,localhost"},
    }
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return from_dict(raw)


@pytest.fixture
def start_gateway(clean: Servers, aiohttp_client, fake_twilio: FakeTwilio):
    """start_gateway(kind="twilio"|"sandbox", public_path="", **settings) -> a running gateway and helpers to drive
    it."""

    async def start(kind: str = "twilio", servers: Servers | None = None, routes_confirmed: bool = True,
                    public_path: str = "", clock=None, **sections) -> Gateway:
        sock = listening_socket()
        port = sock.getsockname()[1]
        if public_path:  # behind a proxy at a path, which it strips: the gateway's routes stay at the root
            sections["server"] = {**sections.get("server", {}), "public_url": f"http://127.0.0.1:{port}{public_path}"}
        config = make_config(servers or clean, port, fake_twilio.url if kind == "twilio" else None, **sections)
        client = await aiohttp_client(create_app(config, clock=clock),
                                      server_kwargs={"port": port, "socket_factory": lambda *_: sock})
        gateway = Gateway(client, config, fake_twilio)
        if routes_confirmed:
            # A gateway answers routes from Postgres until it has confirmed the Redis table (at start, in the
            # background); tests that count Redis lookups or read the table start after that.
            await wait_for(lambda: _resolved(client.app[ROUTES].trusted), timeout=30,
                           what="the route table confirmed")
        return gateway

    return start


@pytest.fixture
async def gateway(start_gateway) -> Gateway:
    return await start_gateway()


RECEIVER = Path(__file__).resolve().parent.parent / "examples" / "event_receiver.py"


@pytest.fixture
async def receiver_process():
    """examples/event_receiver.py as its own process (the README's platform story); yields (start, lines):
    start(secret) -> its URL, lines: what it printed."""
    lines: list[str] = []
    started: list[asyncio.subprocess.Process] = []
    readers: list[asyncio.Task] = []

    async def read(stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            lines.append(line.decode().rstrip("\n"))

    async def start(secret: str) -> str:
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(RECEIVER), str(port), env={**os.environ, "EVENT_SECRET": secret},
            stdout=asyncio.subprocess.PIPE)
        started.append(process)
        readers.append(asyncio.create_task(read(process.stdout)))
        await wait_for(lambda: _now(any("listening" in line for line in lines)), what="the receiver up")
        return f"http://127.0.0.1:{port}/events"

    yield start, lines
    print("receiver:", *lines, sep="\n  ")
    for process in started:
        process.terminate()
        await process.wait()
    for task in readers:
        await task


async def _now(value):
    return value


@pytest.fixture
async def platform(aiohttp_server):
    """A local server playing the platform's intercept and out-of-session URLs (tests/test_intercept.py Platform)."""
    from tests.test_intercept import Platform  # a test module's class: imported when a test asks for it

    fake = Platform()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("/platform"))
    return fake


# --- Carriers' local fakes (each speaks its carrier's wire format), shared by their test modules ---------------

@pytest.fixture
async def fake_vonage(aiohttp_server) -> FakeVonage:
    fake = FakeVonage()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("")).rstrip("/")
    return fake


@pytest.fixture
def start_vonage(start_gateway, fake_vonage):
    """start(**sections): a gateway whose carrier is Vonage, on the fake (vonage= and carrier= sections merged)."""
    async def start(**sections):
        vonage = {"api_key": VONAGE_KEY, "api_secret": VONAGE_SECRET, "signature_secret": VONAGE_SIGNATURE,
                  "api_base": fake_vonage.url, **sections.pop("vonage", {})}
        return await start_gateway("sandbox", carrier={"name": "vonage", **sections.pop("carrier", {})},
                                   vonage=vonage, **sections)
    return start


@pytest.fixture
async def fake_plivo(aiohttp_server) -> FakePlivo:
    fake = FakePlivo()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("")).rstrip("/")
    return fake


@pytest.fixture
async def fake_telnyx(aiohttp_server) -> FakeTelnyx:
    fake = FakeTelnyx()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("")).rstrip("/")
    return fake


@pytest.fixture
def start_telnyx(start_gateway, fake_telnyx):
    """start(**sections): a gateway whose carrier is Telnyx, on the fake (telnyx= and carrier= sections merged)."""
    async def start(**sections):
        telnyx = {"api_key": TELNYX_KEY, "public_key": fake_telnyx.signer.public_key, "api_base": fake_telnyx.url,
                  **sections.pop("telnyx", {})}
        carrier = {"name": "telnyx", **sections.pop("carrier", {})}
        return await start_gateway("sandbox", carrier=carrier, telnyx=telnyx, **sections)

    return start

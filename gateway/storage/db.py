"""Postgres access: the connection pool and the named SQL statements kept in sql/queries/."""

from __future__ import annotations

from pathlib import Path
from typing import TypeAlias

import asyncpg

# What a storage function runs its statement on: the pool (a connection per call) or a connection (inside the
# caller's transaction).
Executor: TypeAlias = asyncpg.Pool | asyncpg.Connection

def _sql_dir() -> Path:
    """sql/ at the root of a checkout, or gateway/sql in an installed wheel (pyproject.toml maps one to the
    other, so the files live in one place)."""
    package = Path(__file__).resolve().parent.parent
    return package / "sql" if (package / "sql").is_dir() else package.parent / "sql"


SQL_DIR = _sql_dir()

# Postgres errors that mean "the database is not there right now", as opposed to a bad statement.
UNAVAILABLE = (
    OSError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.PostgresConnectionError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    # A statement on a pooled connection the server has just ended (a restart, a failover, pg_terminate_backend):
    # when the server's FATAL arrives before the socket closes, asyncpg's protocol is left consuming that error and
    # refuses the next statement with "cannot switch to state ...; another operation is in progress" instead of
    # ConnectionDoesNotExistError. Seen under load in tests/test_newcomer_issue17.py's terminated sessions.
    asyncpg.InternalClientError,
    TimeoutError,
)


class Queries:
    """Every statement in sql/queries/, as attributes named after their files."""

    def __init__(self, directory: Path = SQL_DIR / "queries") -> None:
        self._sql = {path.stem: path.read_text() for path in sorted(directory.glob("*.sql"))}

    def __getattr__(self, name: str) -> str:
        try:
            return self._sql[name]
        except KeyError:
            raise AttributeError(f"no query named {name} in sql/queries/") from None

    def names(self) -> list[str]:
        return list(self._sql)


QUERIES = Queries()


async def _reset(conn: asyncpg.Connection) -> None:
    """On release, instead of asyncpg's reset query (a round trip per query, a seventh of the webhook's time in
    the profile): our statements leave no session state, so only an open transaction needs undoing."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def create_pool(url: str, *, min_size: int, max_size: int, command_timeout: float,
                      event_url: str = "", generic_plans: bool = False) -> asyncpg.Pool:
    """event_url: the gateway-wide event URL (hooks.event_url), set on every connection as gateway.event_url,
    which event_targets (migration 0014) reads: each statement that emits events sends them there too.
    generic_plans: each prepared statement is planned once, not again with each call's values (Postgres's
    plan_cache_mode): for statements whose best plan does not depend on the values, such as finding a row by id."""
    return await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        command_timeout=command_timeout,
        reset=_reset,
        # Fail fast when Postgres is away so the webhook can answer 503 and the carrier retries.
        timeout=command_timeout,
        server_settings={"gateway.event_url": event_url} | (
            {"plan_cache_mode": "force_generic_plan"} if generic_plans else {}),
    )

"""The gateway's clock for rules that go by the time of day (quiet hours): one resource, create_app(config,
clock=...), so a test sets the time instead of waiting for it. Postgres's now() never decides those rules."""

from __future__ import annotations

from datetime import datetime, timezone


class Clock:
    """The system's time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

"""The process's own settings: the outbound queue, the background tasks, the logs. Imported from gateway.config
like the others (that module's size)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QueueSettings:
    lease_seconds: float = 60.0
    concurrency: int = 64
    poll_interval: float = 0.1
    sweep_interval: float = 15.0
    sweep_after: float = 30.0
    record_interval: float = 1.0


@dataclass(frozen=True)
class TasksSettings:
    expiry_interval: float = 60.0
    restart_delay: float = 1.0
    routes_check_interval: float = 10.0


@dataclass(frozen=True)
class LogSettings:
    level: str = "info"
    format: str = "auto"
    access: bool = True  # one request_served line per HTTP request: method, route template, status, duration


@dataclass(frozen=True)
class RetentionSettings:
    body_days: int = 90  # message bodies and pictures blanked this many days after the message (0: kept)
    row_days: int = 400  # messages, ended conversations and verifications deleted after this many days (0: kept)
    batch: int = 1000  # rows per statement: each batch is its own short transaction
    interval: float = 3600.0  # seconds between passes (one process at a time)

"""Data retention: message bodies and pictures blanked after retention.body_days, and messages, ended
conversations (with participants left in none) and verifications deleted after retention.row_days; counts
(usage, metrics) stay. README "Retention and erasure".

Each statement handles retention.batch rows in its own short transaction, so no lock is held long; the message
passes walk the table by id from a mark kept in Postgres (retention_marks), so a pass reads each message once
however large the table grows. A message the walk passes while it still waits to be sent is noted
(retention_waiting), and each pass looks at those again: once sent, it goes as the others did. One process runs a
pass at a time (the supervisor's lease).
"""

from __future__ import annotations

import asyncpg
import structlog

from gateway.config_process import RetentionSettings
from gateway.ops.metrics import Metrics
from gateway.storage import retention as storage

log = structlog.get_logger(__name__)


async def run_pass(pool: asyncpg.Pool, metrics: Metrics, config: RetentionSettings) -> dict[str, int]:
    """One pass of every rule that is on; returns rows changed per rule (also gateway_retention_rows_total)."""
    done: dict[str, int] = {}
    if config.body_days:
        done["bodies_redacted"] = await _walk(lambda: storage.redact_waiting_messages(
            pool, batch=config.batch), config.batch) + await _walk(lambda: storage.redact_old_messages(
            pool, days=config.body_days, batch=config.batch), config.batch)
    if config.row_days:
        done["messages_deleted"] = await _walk(lambda: storage.delete_waiting_messages(
            pool, batch=config.batch), config.batch) + await _walk(lambda: storage.delete_old_messages(
            pool, days=config.row_days, batch=config.batch), config.batch)
        done["conversations_deleted"] = await _until_short(lambda: storage.delete_old_conversations(
            pool, days=config.row_days, batch=config.batch), config.batch)
        done["verifications_deleted"] = await _until_short(lambda: storage.delete_old_verifications(
            pool, days=config.row_days, batch=config.batch), config.batch)
        done["broadcast_recipients_deleted"] = await _until_short(lambda: storage.delete_old_broadcast_recipients(
            pool, days=config.row_days, batch=config.batch), config.batch)
    for rule, count in done.items():
        metrics.retention.labels(rule).inc(count)
    if any(done.values()):
        log.info("retention_pass_done", **done)
    return done


async def _walk(step, batch: int) -> int:
    """Run a message pass's step until it reads fewer than a batch (it reached young messages, or the end of the
    table or of the waiting list)."""
    changed = 0
    while True:
        walked = await step()
        changed += walked.changed
        if walked.read < batch:
            return changed


async def _until_short(step, batch: int) -> int:
    total = 0
    while (count := await step()) >= batch:
        total += count
    return total + count

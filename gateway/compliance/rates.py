"""Error and opt-out rate monitoring: warn a community, restrict it, and let an operator lift it."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from gateway.platform import events as hooks
from gateway.compliance import limits
from gateway.config import Compliance
from gateway.context import Context
from gateway.storage.db import QUERIES
from gateway.errors import Conflict, NotFound

log = structlog.get_logger(__name__)
ORDER = {"ok": 0, "warning": 1, "restricted": 2}


@dataclass(frozen=True)
class Rates:
    error_rate: float
    opt_out_rate: float


def rates(sent: int, errors: int, recipients: int, opt_outs: int) -> Rates:
    return Rates(errors / sent if sent else 0.0, opt_outs / recipients if recipients else 0.0)


def judge(current: str, sent: int, measured: Rates, config: Compliance) -> str:
    """The state the rates call for. Below monitor_min_sent nothing is judged; a restriction stays until lifted."""
    if current == "restricted" or sent < config.monitor_min_sent:
        return current
    if measured.error_rate >= config.restrict_error_rate or measured.opt_out_rate >= config.restrict_opt_out_rate:
        return "restricted"
    if measured.error_rate >= config.warn_error_rate or measured.opt_out_rate >= config.warn_opt_out_rate:
        return "warning"
    return "ok"


async def check(ctx: Context) -> None:
    """Measure every community that sent in the last 24 hours; warn or restrict where the rates call for it.
    One community that cannot be judged is logged and counted; the others still are."""
    for row in await ctx.pool.fetch(QUERIES.community_rates):
        try:
            await _judge_one(ctx, row)
        except Exception:
            ctx.metrics.rows_skipped.labels("rate_monitor").inc()
            log.exception("rate_check_failed", community_id=row["id"])


async def _judge_one(ctx: Context, row) -> None:
    measured = rates(row["sent"], row["errors"], row["recipients"], row["opt_outs"])
    state = judge(row["compliance_state"], row["sent"], measured, ctx.config.compliance)
    async with ctx.pool.acquire() as conn, conn.transaction():
        changed = await conn.fetchrow(QUERIES.set_compliance_state, row["id"], state, measured.error_rate,
                                      measured.opt_out_rate)
        if changed["before"] != state and ORDER[state] > ORDER[changed["before"]]:
            await hooks.enqueue(conn, row["id"], changed["alert_webhook_url"], f"community_{state}", {
                "community_id": row["id"], "state": state, "error_rate": measured.error_rate,
                "opt_out_rate": measured.opt_out_rate, "sent": row["sent"]})
    if changed["before"] != state:
        if state != "ok":
            ctx.metrics.compliance.labels(state).inc()
        log.warning("community_" + ("restricted" if state == "restricted" else "warned" if state == "warning"
                                    else "cleared"), community_id=row["id"], error_rate=round(measured.error_rate, 4),
                    opt_out_rate=round(measured.opt_out_rate, 4), sent=row["sent"])


async def lift(ctx: Context, community_id: int) -> None:
    """An operator lifts a restriction: held messages go out, and rates count afresh."""
    if await ctx.pool.fetchval(QUERIES.lift_restriction, community_id) is None:
        if await ctx.pool.fetchval(QUERIES.find_community, community_id) is None:
            raise NotFound("community_not_found", f"no community {community_id}")
        raise Conflict("not_restricted", "the community is not restricted")
    log.info("restriction_lifted", community_id=community_id)
    await limits.release(ctx, community_id, "restricted")

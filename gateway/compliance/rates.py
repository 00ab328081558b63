"""Error and opt-out rate monitoring: warn a community, restrict it, and let an operator lift it."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import structlog

from gateway.platform import events as hooks
from gateway.compliance import limits
from gateway.config import ComplianceSettings
from gateway.errors import Conflict, NotFound
from gateway.messaging.dispatch import Dispatcher
from gateway.ops.metrics import Metrics
from gateway.storage import communities as community_rows
from gateway.storage.communities import CommunityRates
from gateway.vocabulary import ComplianceState, EventType, HoldReason

log = structlog.get_logger(__name__)
# The log event when a community moves into a state.
EVENTS = {ComplianceState.OK: "community_cleared", ComplianceState.WARNING: "community_warned",
          ComplianceState.RESTRICTED: "community_restricted"}


@dataclass(frozen=True)
class Rates:
    error_rate: float
    opt_out_rate: float


def rates(sent: int, errors: int, recipients: int, opt_outs: int) -> Rates:
    return Rates(errors / sent if sent else 0.0, opt_outs / recipients if recipients else 0.0)


def judge(current: ComplianceState, sent: int, measured: Rates, config: ComplianceSettings) -> ComplianceState:
    """The state the rates call for. Below monitor_min_sent nothing is judged; a restriction stays until lifted."""
    if current == ComplianceState.RESTRICTED or sent < config.monitor_min_sent:
        return ComplianceState(current)
    if measured.error_rate >= config.restrict_error_rate or measured.opt_out_rate >= config.restrict_opt_out_rate:
        return ComplianceState.RESTRICTED
    if measured.error_rate >= config.warn_error_rate or measured.opt_out_rate >= config.warn_opt_out_rate:
        return ComplianceState.WARNING
    return ComplianceState.OK


async def check(pool: asyncpg.Pool, metrics: Metrics, config: ComplianceSettings) -> None:
    """Measure every community that sent in the last 24 hours; warn or restrict where the rates call for it.
    One community that cannot be judged is logged and counted; the others still are."""
    for traffic in await community_rows.community_rates(pool):
        try:
            await _judge_one(pool, metrics, config, traffic)
        except Exception:
            metrics.rows_skipped.labels("rate_monitor").inc()
            log.exception("rate_check_failed", community_id=traffic.community_id)


async def _judge_one(pool: asyncpg.Pool, metrics: Metrics, config: ComplianceSettings, traffic: CommunityRates) -> None:
    measured = rates(traffic.sent, traffic.errors, traffic.recipients, traffic.opt_outs)
    state = judge(traffic.compliance_state, traffic.sent, measured, config)
    community_id = traffic.community_id
    async with pool.acquire() as conn, conn.transaction():
        change = await community_rows.set_compliance_state(conn, community_id=community_id, state=state,
                                                           error_rate=measured.error_rate,
                                                           opt_out_rate=measured.opt_out_rate,
                                                           measured_in=traffic.compliance_state)
        if change is None:
            return  # lifted (or gone) while measured: the next pass measures afresh
        if change.before != state and state.severity > change.before.severity:
            event = EventType.COMMUNITY_RESTRICTED if state == ComplianceState.RESTRICTED else EventType.COMMUNITY_WARNED
            await hooks.emit(conn, community_id, event, {
                "community_id": community_id, "state": state, "error_rate": measured.error_rate,
                "opt_out_rate": measured.opt_out_rate, "sent": traffic.sent})
    if change.before != state:
        if state != ComplianceState.OK:
            metrics.compliance.labels(state).inc()
        log.warning(EVENTS[state], community_id=community_id, error_rate=round(measured.error_rate, 4),
                    opt_out_rate=round(measured.opt_out_rate, 4), sent=traffic.sent)


async def publish(pool: asyncpg.Pool, metrics: Metrics) -> None:
    """Set the per-community gauges (rates and state, for the dashboard and the restricted alert) from Postgres, at
    each scrape: every process shows the same, a lift at once, a deleted community no more. Before, only the process
    whose monitor pass measured a community had its gauges, and kept them after a lift or a move of the monitor to
    another process, so the alert (max by community) went on firing."""
    shown = await community_rows.community_compliance(pool)
    metrics.community_rate.clear()
    metrics.community_state.clear()
    for community in shown:
        metrics.community_rate.labels(str(community.community_id), "error").set(community.error_rate)
        metrics.community_rate.labels(str(community.community_id), "opt_out").set(community.opt_out_rate)
        metrics.community_state.labels(str(community.community_id)).set(community.state.severity)


async def lift(pool: asyncpg.Pool, dispatcher: Dispatcher, community_id: int) -> None:
    """An operator lifts a restriction: held messages go out, and rates count afresh. NotFound for no such
    community; Conflict when it is not restricted."""
    if not await community_rows.lift_restriction(pool, community_id=community_id):
        if not await community_rows.community_exists(pool, community_id=community_id):
            raise NotFound("community_not_found", f"no community {community_id}")
        raise Conflict("not_restricted", "the community is not restricted")
    log.info("restriction_lifted", community_id=community_id)
    await limits.release(pool, dispatcher, community_id=community_id, reason=HoldReason.RESTRICTED)

"""Draining the outbound queue: claim, send through the carrier, record the result, retry or fail."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from gateway import config
from gateway.carriers import Accepted, Carrier, Carriers, Rejected, RetryLater
from gateway.clock import Clock
from gateway.compliance import limits
from gateway.messaging import handing, quiet, statuses, whatsapp
from gateway.messaging.outbox import Answer, Outbox, Ticket
from gateway.messaging.statuses import CarrierErrors
from gateway.media.outgoing import Outgoing
from gateway.ops.logs import clip
from gateway.ops.metrics import Metrics
from gateway.ops.tasks import stop_if_cancelled
from gateway.relay import segments
from gateway.storage import messages as storage
from gateway.storage.batching import Statements
from gateway.storage.messages import BeginSend, SendingMessage
from gateway.verification import codes
from gateway.vocabulary import FailureClass, HoldReason, MessageKind, MessageStatus, SendOutcome, UsageUnit

log = structlog.get_logger(__name__)
SUBMITTING = MessageStatus.SUBMITTING


@dataclass(frozen=True)
class Sender:
    """What the drainer uses; built once in app.py."""

    db: asyncpg.Pool
    statements: Statements
    outbox: Outbox
    queued: asyncio.Event  # set when a message is queued in this process (Dispatcher.queued)
    metrics: Metrics
    carriers: Carriers  # a send goes through its number's carrier
    queue: config.QueueSettings
    sends: config.CarrierSettings  # timeouts and retries
    limits: config.LimitsSettings
    restart_delay: float  # seconds to wait after Redis failed a claim
    public_url: str  # the base of the status callback URL
    carrier_errors: CarrierErrors  # what a refusal's error code does to the recipient (DND)
    counters: limits.Counters  # the community's daily and monthly limits, per unit
    redis: aioredis.Redis  # where verification codes wait to be filled in
    media: Outgoing  # pictures a relayed copy carries: MMS URLs or a link (gateway/media/outgoing.py)
    whatsapp: whatsapp.WhatsApp | None = None  # the WhatsApp rules (window, template, units)
    clock: Clock = Clock()  # the time quiet hours go by (create_app's clock)


def backoff(attempt: int, *, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds before try number attempt+1: capped exponential with full jitter, or what the carrier asked."""
    if retry_after is not None:
        return min(cap, retry_after)
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))


async def drain(sender: Sender) -> None:
    """Claim and send for as long as the task runs; every send is a child of this task."""
    limit = sender.queue.concurrency
    running: set[asyncio.Task] = set()
    try:
        while True:
            try:
                tickets = await sender.outbox.claim(limit - len(running)) if len(running) < limit else []
            except RedisError as exc:
                # Redis is away: messages wait in Postgres as queued; the sweeper re-queues them later. A stop that
                # landed mid-claim may come back as this error (stop_if_cancelled): it must end the loop.
                stop_if_cancelled()
                log.warning("queue_claim_failed", error=type(exc).__name__)
                sender.metrics.task_failures.labels("drain").inc()
                await asyncio.sleep(sender.restart_delay)
                continue
            for ticket in tickets:
                task = asyncio.create_task(send_one(sender, ticket))
                running.add(task)
                task.add_done_callback(running.discard)
            stop_if_cancelled()
            if not tickets:
                sender.queued.clear()
                try:
                    await asyncio.wait_for(sender.queued.wait(), sender.queue.poll_interval)
                except TimeoutError:
                    pass
    finally:
        # Sends in flight are left to finish: cutting one mid-request could send the message twice.
        if running:
            await asyncio.wait(running, timeout=sender.sends.send_timeout)
            for task in running:
                task.cancel()
        await _flush_answers(sender)
        try:
            await sender.outbox.end_leases()
        except RedisError:
            pass  # the leases run out by themselves


async def send_one(sender: Sender, ticket: Ticket) -> None:
    """One try for one message; a crash here leaves the ticket to be reclaimed when its lease runs out."""
    with structlog.contextvars.bound_contextvars(message_id=ticket.message_id):
        try:
            if ticket.answered or ticket.message_id in sender.outbox.unrecorded:
                # The carrier took this message already and Postgres has not recorded it yet (its lease ran
                # out, the sweeper re-queued it, or it was retried meanwhile): record it, never send it again.
                await _answered_before(sender, ticket)
            else:
                await _send(sender, ticket)
        except Exception:
            sender.metrics.sends.labels(SendOutcome.CRASHED).inc()
            log.exception("message_send_crashed")


async def _send(sender: Sender, ticket: Ticket) -> None:
    message = await storage.begin_send(sender.statements.begin_send, BeginSend(
        ticket.message_id, sender.limits.daily_levels, sender.limits.daily_ceiling, list(sender.carriers.names),
        sender.carriers.default.name, sender.sends.send_timeout))
    if message is None or (message := await quiet.hold(sender.db, message, sender.clock.now())).status != SUBMITTING:
        await _not_claimed(sender, ticket, message)
        return
    structlog.contextvars.bind_contextvars(conversation_id=message.conversation_id)
    if message.identified:
        # The first text to this phone now carries the sender identification (begin_send added it), which may
        # cost a segment more: count that before the limits. Whatever happens next stores the new count.
        message = message._replace(segments=segments.count(message.body))
    if problem := segments.unsendable(message.body):
        # Nothing empty or over the carrier's limit is handed to it: it would refuse it anyway.
        await _fail(sender, ticket, message, *problem)
        return
    if (carrier := await _carrier(sender, ticket, message)) is None:
        return
    message = whatsapp.units(sender.whatsapp, message)
    if (body := await _text(sender, message)) is None:
        # Not a try the carrier saw (the rate monitor leaves it out), however long the message waited.
        await _fail(sender, ticket, message, "code_expired", "the verification code expired before it could be sent",
                    tried=False)
        return
    # The pictures are attached before the limits: whether it goes as an MMS decides the unit it counts in.
    outgoing, media_urls, media_types = await handing.attach(sender, message, body, carrier)
    unit = _unit(sender, message, media_urls)
    go, reservation = await _limit(sender, ticket, message, unit)
    if not go:
        return
    result = await handing.deliver(sender, message, outgoing, (media_urls, media_types), carrier,
                            linked=outgoing != body and not media_urls)
    if reservation is not None and not isinstance(result, Accepted):
        await sender.counters.refund(reservation)
    if isinstance(result, Accepted):
        await _accepted(sender, ticket, message, result.sid, reservation is not None, unit)
        return
    if message.identified:
        await storage.set_message_segments(sender.db, message_id=message.id, segments=message.segments)
    await _not_accepted(sender, ticket, message, result, carrier)


async def _carrier(sender: Sender, ticket: Ticket, message: SendingMessage) -> Carrier | None:
    """The carrier of the message's number, or None when it cannot go (held or failed here)."""
    if (carrier := sender.carriers.find(message.carrier)) is None:
        # begin_send holds these (above); kept so that a send never goes through a carrier the number does not name.
        await _hold(sender, ticket, message, HoldReason.CARRIER_NOT_SERVED, carrier=message.carrier)
        return None
    if message.whatsapp and not carrier.whatsapp:
        # The recipient is on WhatsApp with a number whose carrier has no WhatsApp here: nothing it could send.
        await _fail(sender, ticket, message, "whatsapp_not_offered", f"{carrier.name} does not send WhatsApp",
                    tried=False)
        return None
    return carrier


def _limited(message: SendingMessage) -> bool:
    """Whether the send counts toward its community's limits (keyword replies never do)."""
    return message.community_id is not None and message.kind != MessageKind.KEYWORD_REPLY


def _unit(sender: Sender, message: SendingMessage, media_urls: tuple[str, ...]) -> UsageUnit:
    """What the send counts as: a WhatsApp message, an MMS (pictures as MMS URLs), or else SMS segments (a picture
    sent as a link is an SMS)."""
    if message.whatsapp and sender.whatsapp is not None:
        return UsageUnit.WHATSAPP
    return UsageUnit.MMS if media_urls else UsageUnit.SMS_SEGMENT


async def _limit(sender: Sender, ticket: Ticket, message: SendingMessage,
                 unit: UsageUnit) -> tuple[bool, limits.Reservation | None]:
    """Reserve the send's share of its unit's limits: (False, None) when it was held instead. A send that is not
    SMS names its unit in Postgres first, so a reload after a Redis loss counts it in flight in that unit (an SMS
    send, the default, writes nothing more)."""
    if not _limited(message):
        return True, None
    reservation = limits.reservation(sender.limits, message, unit)
    if unit != UsageUnit.SMS_SEGMENT:
        await storage.set_message_usage_unit(sender.db, message_id=message.id, unit=unit)
    if reason := await sender.counters.reserve(reservation):
        await _hold(sender, ticket, message, reason, unit=unit.value)
        return False, None
    return True, reservation


async def _not_claimed(sender: Sender, ticket: Ticket, message: SendingMessage | None) -> None:
    """begin_send stopped the message. A number whose carrier this gateway does not serve (left out of the
    configuration) is an operator's doing, not the community's: the message is held (carrier_not_served),
    uncounted by limits and rates and without using up the sender identification, until a gateway serving that
    carrier releases it (sweeper.release_carrier_held); its log line names the carrier."""
    not_served = message is not None and message.status_reason == HoldReason.CARRIER_NOT_SERVED
    if message is not None and message.status_reason == HoldReason.WHATSAPP_WINDOW and sender.whatsapp:
        await whatsapp.reengage(sender.whatsapp, message)
    elif message is not None and message.status_reason == whatsapp.TEMPLATE_UNNEEDED and sender.whatsapp:
        await whatsapp.window_opened(sender.whatsapp, message)
    await _stopped(sender, ticket, message, **({"carrier": message.carrier} if not_served and message else {}))


async def _not_accepted(sender: Sender, ticket: Ticket, message: SendingMessage,
                        result: RetryLater | Rejected, carrier: Carrier) -> None:
    """Try again later while tries are left and the carrier allows it; else the message fails. Free text that
    WhatsApp refused as outside the window waits for the participant's answer instead (the template asks)."""
    if await _outside_window(sender, ticket, message, result):
        return
    if isinstance(result, RetryLater) and message.attempts < sender.sends.max_attempts:
        delay = backoff(message.attempts, base=sender.sends.retry_base, cap=sender.sends.retry_cap,
                        retry_after=result.after)
        await storage.requeue_message(sender.db, message_id=message.id, reason=result.reason)
        await sender.outbox.retry(ticket, delay)
        sender.metrics.sends.labels(SendOutcome.RETRY).inc()
        log.warning("message_send_deferred", reason=clip(result.reason, 120), attempt=message.attempts,
                    retry_in=round(delay, 2))
        return
    code, reason = ((result.code, result.message) if isinstance(result, Rejected)
                    else ("max_attempts", f"gave up after {message.attempts} tries: {result.reason}"))
    await _fail(sender, ticket, message, code, reason, carrier)


async def _outside_window(sender: Sender, ticket: Ticket, message: SendingMessage,
                          result: RetryLater | Rejected) -> bool:
    """Whether the carrier said the participant's WhatsApp window is closed (then the text is held and the
    template sent, as begin_send does when Postgres knows it already)."""
    if (sender.whatsapp is None or not message.whatsapp or message.kind == MessageKind.WHATSAPP_TEMPLATE
            or not isinstance(result, Rejected) or result.failure.failure_class != FailureClass.OUTSIDE_WINDOW):
        return False
    await whatsapp.window_closed(sender.whatsapp, message)
    await _hold(sender, ticket, message, HoldReason.WHATSAPP_WINDOW, error_code=clip(result.code, 16))
    await whatsapp.reengage(sender.whatsapp, message)
    return True


async def _hold(sender: Sender, ticket: Ticket, message: SendingMessage, reason: HoldReason,
                **log_fields: object) -> None:
    """The claimed message waits as held for reason instead (that try does not count: attempts go back)."""
    await storage.hold_message(sender.db, message_id=message.id, reason=reason, segments=message.segments)
    await _stopped(sender, ticket, message._replace(status=MessageStatus.HELD, status_reason=reason),
                   **log_fields)


async def _stopped(sender: Sender, ticket: Ticket, message: SendingMessage | None, **log_fields: object) -> None:
    """The message is not to be sent now: sent or canceled meanwhile (None), blocked, held, or canceled here (a
    WhatsApp template no longer needed: counted in neither)."""
    sender.outbox.done(ticket)
    if message is None:
        return
    if message.status != MessageStatus.CANCELED:
        counter = sender.metrics.held if message.status == MessageStatus.HELD else sender.metrics.blocked
        counter.labels(message.status_reason or "unknown").inc()
    log.info("message_" + message.status, reason=message.status_reason, **log_fields)


async def _text(sender: Sender, message: SendingMessage) -> str | None:
    """The text as it goes out (with the verification code filled in); None when the code expired."""
    if message.kind != MessageKind.VERIFICATION:
        return message.body
    return await codes.fill_code(sender.redis, message_id=message.id, body=message.body)


async def _accepted(sender: Sender, ticket: Ticket, message: SendingMessage, sid: str, limited: bool,
                    unit: UsageUnit = UsageUnit.SMS_SEGMENT) -> None:
    """The carrier took the message: keep its answer first, so that nothing can send it again, then record it. An
    MMS and a WhatsApp message count apart from SMS segments (priced apart), in the limits and the metrics."""
    day, month = limits.periods(message.current_day, message.timezone) if limited else (None, None)
    answer = Answer(message.id, sid, day, month, message.segments, message.community_id, unit.value)
    await sender.outbox.keep(answer, sender.statements.redis)
    sender.outbox.done(ticket)
    sender.metrics.sends.labels(SendOutcome.ACCEPTED).inc()
    if message.whatsapp:
        sender.metrics.whatsapp_sent.labels("template" if message.kind == MessageKind.WHATSAPP_TEMPLATE
                                            else "text").inc()
    elif unit == UsageUnit.MMS:
        sender.metrics.mms.inc()
    else:
        sender.metrics.segments.inc(message.segments)
    log.info("message_sent", attempt=message.attempts, segments=message.segments, unit=unit.value)
    if message.kind == MessageKind.VERIFICATION:
        try:
            await codes.forget_code(sender.redis, message_id=message.id)
        except RedisError:
            pass  # the code expires with its key's TTL
    if error := await record(sender, answer):
        log.warning("send_record_deferred", error=error)


async def _answered_before(sender: Sender, ticket: Ticket) -> None:
    sender.outbox.done(ticket)
    sender.metrics.sends.labels(SendOutcome.REPEAT_STOPPED).inc()
    log.info("message_repeat_stopped")
    answer = await sender.outbox.answer(ticket.message_id)
    if answer is not None:
        await record(sender, answer)


async def record(sender: Sender, answer: Answer) -> str | None:
    """Record a kept answer in Postgres (recording one twice changes nothing); None when recorded, else the
    error's name. Until it is recorded the answer stays kept, and record_kept tries again."""
    try:
        await statuses.record_accepted(sender.db, sender.statements.record_accepted, answer,
                                      sender.carriers.default.name)
    except Exception as exc:  # Postgres away, or the batch stopped at shutdown: the answer waits
        sender.metrics.task_failures.labels("record_send").inc()
        sender.outbox.unrecorded.setdefault(answer.message_id, (answer, True))
        return type(exc).__name__
    sender.outbox.recorded(answer.message_id)
    return None


async def record_kept(sender: Sender) -> int:
    """Record the answers Postgres missed: this process's, and any in Redis kept for longer than a lease (their
    process died before recording them). Copies only this process held go to Redis too. Returns how many are
    still unrecorded."""
    held = list(sender.outbox.unrecorded.values())
    for answer, in_redis in held:
        if not in_redis:
            await sender.outbox.keep_in_redis(answer, sender.statements.redis)
    answers = [answer for answer, _ in held]
    try:
        answers += await sender.outbox.kept_answers(older_than=sender.queue.lease_seconds)
    except RedisError:
        pass  # those in Redis wait for it to return
    if not answers:
        return 0
    errors = await asyncio.gather(*(record(sender, answer) for answer in answers))
    recorded = errors.count(None)
    if recorded < len(answers):
        log.warning("send_records_pending", pending=len(answers) - recorded, recorded=recorded)
    elif recorded:
        log.info("send_records_caught_up", recorded=recorded)
    return len(answers) - recorded


async def _flush_answers(sender: Sender) -> None:
    """At shutdown: one last try to record what is kept (or to put it in Redis). An answer held only here and
    recorded nowhere is logged: its message may be sent again once its lease runs out."""
    if not sender.outbox.unrecorded:
        return
    try:
        await asyncio.wait_for(record_kept(sender), sender.sends.send_timeout)
    except Exception as exc:
        log.warning("send_records_flush_failed", error=type(exc).__name__)
    lost = sorted(mid for mid, (_, in_redis) in sender.outbox.unrecorded.items() if not in_redis)
    if lost:
        log.error("send_answers_lost_at_shutdown", message_ids=lost[:100], count=len(lost))


async def _fail(sender: Sender, ticket: Ticket, message: SendingMessage, code: str, reason: str,
                carrier: Carrier | None = None, tried: bool = True) -> None:
    """Final failure; a carrier's error code (carrier given) may put the recipient on do-not-disturb. tried False:
    the carrier never saw this try, which does not count (attempts go back)."""
    await storage.fail_message(sender.db, message_id=message.id, code=code, reason=reason, tried=tried)
    sender.outbox.done(ticket)
    if carrier is not None:
        await sender.carrier_errors(message.id, code, carrier)
    sender.metrics.sends.labels(SendOutcome.FAILED).inc()
    log.warning("message_failed", error_code=clip(code, 16), attempt=message.attempts)

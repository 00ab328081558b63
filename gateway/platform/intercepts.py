"""A community's intercept URL: each text relayed in one of its conversations is offered to it first.

The text and its relayed parts are stored when it arrives (the parts held, reason intercepting; the carrier is
answered then), and offered here in the background, a conversation's texts one at a time, in order. The answer:
- 2xx: relayed as it is; with JSON {"body": "..."} (a message body: 1 to 1600 characters) relayed as that
  text instead, through the same rules as any relayed text (prefix, identification, parts, limits);
- 403: blocked (the parts stored blocked, reason intercepted);
- anything else (a timeout, a connection error, a 5xx: tried hooks.intercept_attempts times,
  hooks.intercept_retry_delay apart; any other status or an unreadable 2xx: at once) applies the community's
  intercept_policy: relay, or hold (reason intercept_unanswered; released or canceled through the held API).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import structlog

from gateway.errors import InvalidInput
from gateway.messaging import inbound
from gateway.platform.answers import Answer, message_payload
from gateway.relay.segments import MAX_BODY
from gateway.storage import callbacks as storage
from gateway.storage import conversations, messages
from gateway.storage.callbacks import Claimed
from gateway.vocabulary import BlockReason, CallbackOutcome, HoldReason, InterceptPolicy, MessageStatus

if TYPE_CHECKING:
    from gateway.platform.callbacks import Callbacks

log = structlog.get_logger(__name__)
EVENT = "message.intercept"


class Unreadable(ValueError):
    """A 2xx whose body is neither empty nor JSON with a usable "body"."""


async def handle(callbacks: Callbacks, callback: Claimed) -> None:
    """One try: post the text, act on the answer (or defer it for another try)."""
    config = callbacks.config
    message = await messages.find_message(callbacks.pool, message_id=callback.message_id)
    if message is None or callback.attempts > config.intercept_attempts:
        # Every try was taken by a process that died before recording an answer.
        return await _unanswered(callbacks, callback, Answer(None, error="no answer recorded"))
    answer = await callbacks.post(callback, EVENT, {
        "message": message_payload(message), "conversation_id": callback.conversation_id,
        "community_id": callback.community_id}, config.intercept_timeout)
    if answer.status == 403:
        return await _finish(callbacks, callback, CallbackOutcome.BLOCKED, answer, MessageStatus.BLOCKED,
                             BlockReason.INTERCEPTED)
    if answer.ok:
        try:
            body = new_body(answer.body)
        except Unreadable as exc:
            return await _unanswered(callbacks, callback, Answer(answer.status, error=str(exc)))
        if body is None:
            return await _finish(callbacks, callback, CallbackOutcome.RELAYED, answer, MessageStatus.QUEUED, None)
        return await _rewrite(callbacks, callback, message, body, answer)
    if answer.transient and callback.attempts < config.intercept_attempts:
        await storage.defer_callback(callbacks.pool, callback_id=callback.id, retry_in=config.intercept_retry_delay,
                                     error=answer.result)
        log.info("intercept_deferred", answer=answer.result, attempts=callback.attempts)
        return None
    return await _unanswered(callbacks, callback, answer)


def new_body(raw: bytes) -> str | None:
    """The text to relay instead, from a 2xx's body; None: relay the text as it is (an empty body, or JSON without
    "body", or with null or ""). Raises Unreadable for anything else: a body is checked as the API checks one
    (gateway/api/validation.py, imported here lazily: the api package imports the app's keys, which import this)."""
    from gateway.api.validation import storable, text

    if not raw.strip():
        return None
    try:
        answer = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Unreadable("the answer is not JSON") from None
    if not isinstance(answer, dict):
        raise Unreadable("the answer is not a JSON object")
    body = answer.get("body")
    if body is None or body == "":
        return None
    if not isinstance(body, str) or not storable(body):
        raise Unreadable("body: expected a string")
    try:
        return text(body, "body", max_length=MAX_BODY, multiline=True)
    except InvalidInput as exc:
        raise Unreadable(exc.message) from None


async def _finish(callbacks: Callbacks, callback: Claimed, outcome: CallbackOutcome, answer: Answer,
                  parts: MessageStatus, reason: str | None) -> None:
    """Finish with outcome: the held parts become parts (queued ones go to the queue at once)."""
    changed = await storage.finish_callback(callbacks.pool, callback_id=callback.id, outcome=outcome, parts=parts,
                                            reason=reason, error=answer.error or (None if answer.ok else answer.result))
    if changed is None:
        return  # finished by another process meanwhile (its lease ran out while this one waited)
    receiver = callbacks.receiver
    for part in changed:
        if parts == MessageStatus.QUEUED:
            await receiver.dispatcher.queue(part.id, part.priority, part.from_number, part.segments,
                                            relays=(part.to_number, part.conversation_id))
        elif parts == MessageStatus.BLOCKED:
            receiver.metrics.blocked.labels(reason or "unknown").inc()
        elif parts == MessageStatus.HELD:
            receiver.metrics.held.labels(reason or "unknown").inc()
    if parts == MessageStatus.QUEUED and changed:
        receiver.metrics.relayed.inc()
    callbacks.finished(callback, outcome, answer)


async def _unanswered(callbacks: Callbacks, callback: Claimed, answer: Answer) -> None:
    """No useful answer: the community's policy."""
    if callback.intercept_policy == InterceptPolicy.HOLD:
        return await _finish(callbacks, callback, CallbackOutcome.UNANSWERED_HELD, answer, MessageStatus.HELD,
                             HoldReason.INTERCEPT_UNANSWERED)
    return await _finish(callbacks, callback, CallbackOutcome.UNANSWERED_RELAYED, answer, MessageStatus.QUEUED, None)


async def _rewrite(callbacks: Callbacks, callback: Claimed, message: messages.Message, body: str,
                   answer: Answer) -> None:
    """Relay body instead: the held parts are canceled and the new ones stored, in one transaction."""
    conversation = await conversations.find_conversation(callbacks.pool, conversation_id=callback.conversation_id)

    async def finish(conn) -> bool:
        # Relay only when the text's parts were still held for this answer: canceled meanwhile (its number taken
        # from the community, README "Numbers"), the new text would go from a number that is no longer ours.
        return bool(await storage.finish_callback(conn, callback_id=callback.id, outcome=CallbackOutcome.REWRITTEN,
                                                  parts=MessageStatus.CANCELED, reason=None))

    noted = {"intercept": CallbackOutcome.REWRITTEN}
    if await inbound.relay_stored(callbacks.receiver, message, conversation, body, finish, noted) is not None:
        callbacks.finished(callback, CallbackOutcome.REWRITTEN, answer)

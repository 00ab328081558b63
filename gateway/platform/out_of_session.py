"""A community's out-of-session URL: told of each text from someone with no open conversation on the number it
went to, instead of the auto-reply.

The text is stored when it arrives (the carrier is answered then) and posted here in the background, retried
with backoff (2^n seconds, at most 10 minutes) up to hooks.out_of_session_attempts times until the URL
answers 2xx. To answer by opening a conversation, the platform calls POST /v1/conversations (the sender as the
prospect or the advocate) before it answers 2xx: the gateway then relays the text into the newest conversation of
the sender's opened since the text arrived. A 2xx without one leaves the text stored, not relayed (not_opened).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import structlog

from gateway.messaging import inbound
from gateway.platform.answers import Answer, message_payload
from gateway.storage import callbacks as storage
from gateway.storage import conversations, messages
from gateway.storage.callbacks import Claimed
from gateway.vocabulary import CallbackOutcome, MessageStatus

if TYPE_CHECKING:
    from gateway.platform.callbacks import Callbacks

log = structlog.get_logger(__name__)
EVENT = "message.out_of_session"
MAX_WAIT = 600.0  # seconds: the longest wait between two tries


async def handle(callbacks: Callbacks, callback: Claimed) -> None:
    """One try: post the text; on a 2xx, relay it into the conversation the platform opened, if any."""
    attempts = callbacks.config.out_of_session_attempts
    message = await messages.find_message(callbacks.pool, message_id=callback.message_id)
    if message is None or callback.attempts > attempts:
        return await _finish(callbacks, callback, CallbackOutcome.GIVEN_UP, None, "no answer recorded")
    answer = await callbacks.post(callback, EVENT, {"message": message_payload(message),
                                                    "community_id": callback.community_id},
                                  callbacks.config.timeout)
    if not answer.ok:
        if callback.attempts >= attempts:
            return await _finish(callbacks, callback, CallbackOutcome.GIVEN_UP, answer, answer.result)
        wait = min(MAX_WAIT, 2 ** callback.attempts) * random.uniform(0.5, 1.0)
        await storage.defer_callback(callbacks.pool, callback_id=callback.id, retry_in=wait, error=answer.result)
        log.info("out_of_session_deferred", answer=answer.result, retry_in=round(wait, 1))
        return None
    opened = await storage.find_opened_conversation(callbacks.pool, community_id=callback.community_id,
                                                    phone=message.from_number, since=message.created_at)
    if opened is None:
        return await _finish(callbacks, callback, CallbackOutcome.NOT_OPENED, answer, None)
    conversation = await conversations.find_conversation(callbacks.pool, conversation_id=opened)

    async def finish(conn) -> bool:
        if await storage.finish_callback(conn, callback_id=callback.id, outcome=CallbackOutcome.RELAYED,
                                         parts=MessageStatus.CANCELED, reason=None) is None:
            return False
        await storage.attach_message(conn, message_id=message.id, conversation_id=opened)
        return True

    if await inbound.relay_stored(callbacks.receiver, message, conversation, message.body, finish) is not None:
        callbacks.finished(callback, CallbackOutcome.RELAYED, answer)


async def _finish(callbacks: Callbacks, callback: Claimed, outcome: CallbackOutcome, answer: Answer | None,
                  error: str | None) -> None:
    if await storage.finish_callback(callbacks.pool, callback_id=callback.id, outcome=outcome,
                                     parts=MessageStatus.CANCELED, reason=None, error=error) is not None:
        callbacks.finished(callback, outcome, answer)

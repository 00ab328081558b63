"""Carrier-facing handlers, for every carrier alike: read the raw request, let its carrier verify and parse it,
make it durable, answer as the carrier expects. Nothing is sent from here, and no carrier is named here."""

from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable, Sequence

import structlog
from aiohttp import web

from gateway.carriers import (MESSAGE_ID, OLD_MESSAGE_ID, Carrier, Carriers, InboundMessage, RawRequest, StatusUpdate,
                              WebhookReply)
from gateway.errors import Conflict, GatewayError, Malformed, NotPermitted
from gateway.keys import CONFIG, METRICS, NUMBER_CARRIERS, POOL, RECEIVER, STATUS_UPDATES
from gateway.messaging import inbound, statuses
from gateway.storage import messages as storage
from gateway.api.validation import ascii_number
from gateway.vocabulary import Direction

log = structlog.get_logger(__name__)

async def _raw(request: web.Request) -> RawRequest:
    """The request as the carrier signed it: the public URL with the raw path, and the body's bytes."""
    return RawRequest(request.method, request.app[CONFIG].public_url + request.raw_path, request.headers,
                      await request.read(), request.content_type, request.charset)


async def _verified(request: web.Request, carrier: Carrier) -> RawRequest:
    raw = await _raw(request)
    if not carrier.verify(raw):
        raise NotPermitted("bad_signature", "missing or wrong carrier signature")
    return raw


def _response(reply: WebhookReply) -> web.Response:
    if reply.content_type is None:
        return web.Response(status=reply.status, body=reply.body or None)
    return web.Response(status=reply.status, body=reply.body, content_type=reply.content_type)


Step = tuple[Callable[[RawRequest], Sequence[Any]], Callable[[web.Request, Any], Awaitable[str]],
             Callable[[], WebhookReply], Callable[[web.Request, Any], Awaitable[None]] | None]
# parse the request into items, handle one item, the reply, and a check of one item run on every item before any is
# handled (raises to refuse the whole request: nothing of it is stored)


def _handler(carrier: Carrier, kind: str, steps: Sequence[Step], empty_outcome: str):
    """A webhook route of carrier: verify, parse into items (every step's, before any is handled: a malformed
    request changes nothing), handle each, answer as the carrier expects (only once every item is durable: a
    handler that raises gives a 503, and the carrier retries). The reply is that of the first step with items
    (of the first step when none had any). Every webhook is counted by kind and outcome, refusals included;
    empty_outcome: the outcome counted when the request held no item."""
    async def webhook(request: web.Request) -> web.Response:
        counted = request.app[METRICS].webhooks
        try:
            raw = await _verified(request, carrier)
            parsed = [(handle, reply, parse(raw)) for parse, handle, reply, _ in steps]
            for (_, _, _, admit), (_, _, items) in zip(steps, parsed):
                for item in items if admit is not None else ():
                    await admit(request, item)
            outcome = await _handle_all(request, parsed) or empty_outcome
        except GatewayError as exc:
            counted.labels(kind, exc.code).inc()
            raise
        except Exception:
            counted.labels(kind, "error").inc()
            raise
        counted.labels(kind, outcome).inc()
        replies = [reply for _, reply, items in parsed if items] or [steps[0][2]]
        return _response(replies[0]())

    return webhook


async def _handle_all(request: web.Request, parsed: Sequence[tuple[Any, Any, Sequence[Any]]]) -> str | None:
    """Handle every item in order; the last one's outcome (None when there was none)."""
    outcome = None
    context = structlog.contextvars.get_contextvars() if sum(len(items) for *_, items in parsed) > 1 else None
    for handle, _, items in parsed:
        for item in items:
            if context is not None:
                # Each item logs with the request's context and its own, not with the one before it's ids.
                structlog.contextvars.clear_contextvars()
                structlog.contextvars.bind_contextvars(**context)
            outcome = await handle(request, item)
    return outcome


def _inbound_step(carrier: Carrier) -> Step:
    async def receive_from_carrier(request: web.Request, sms: InboundMessage) -> str:
        return await receive(request, sms, carrier)

    async def admit(request: web.Request, sms: InboundMessage) -> None:
        # Every text of a request is checked before any is stored: one to another carrier's number refuses all.
        await _on_carrier(request.app, sms, carrier)

    return carrier.parse_inbound, receive_from_carrier, carrier.inbound_reply, admit


def _status_step(carrier: Carrier) -> Step:
    async def apply(request: web.Request, update: StatusUpdate) -> str:
        return await _apply(request, carrier, update)

    return carrier.parse_status, apply, carrier.status_reply, None


def inbound_handler(carrier: Carrier):
    return _handler(carrier, "inbound", [_inbound_step(carrier)], "empty")


def status_handler(carrier: Carrier):
    return _handler(carrier, "status", [_status_step(carrier)], "ignored")


def both_handler(carrier: Carrier):
    """A path the carrier posts inbound messages and statuses to alike, even in one request (a JSON array of
    events): both parses run on every request, each taking the events of its kind; the messages are stored,
    then the updates applied."""
    return _handler(carrier, "both", [_inbound_step(carrier), _status_step(carrier)], "ignored")


async def receive(request: web.Request, sms: InboundMessage, carrier: Carrier) -> str:
    """Store one inbound text; NotPermitted (wrong_carrier) when its number is on another carrier: no carrier
    speaks for another's numbers, whatever it signs."""
    outcome = await _receive_on(request.app, sms, carrier)
    if outcome == "duplicate":
        await _refuse_outbound_sid(request, sms.sid)
    return outcome


async def _receive_on(app: web.Application, sms: InboundMessage, carrier: Carrier) -> str:
    """inbound.receive, for a text carrier delivered; NotPermitted (wrong_carrier) when its number is another's."""
    await _on_carrier(app, sms, carrier)
    return await inbound.receive(app[RECEIVER], sms)


async def _on_carrier(app: web.Application, sms: InboundMessage, carrier: Carrier) -> None:
    """NotPermitted (wrong_carrier) when the text's number is on another carrier than the one that delivered it."""
    if not await app[NUMBER_CARRIERS].on(sms.to_number, carrier.name):
        raise NotPermitted("wrong_carrier", "To: that number is on another carrier; nothing stored")


async def _apply(request: web.Request, carrier: Carrier, update: StatusUpdate) -> str:
    query = request.query
    name = MESSAGE_ID if MESSAGE_ID in query else OLD_MESSAGE_ID
    message_id = _our_id(name, query.get(name))
    return await statuses.apply(request.app[STATUS_UPDATES], message_id, update, carrier)


async def _refuse_outbound_sid(request: web.Request, sid: str) -> None:
    """A "duplicate" whose sid is one of our outbound messages' is no retry: a carrier never gives an inbound the
    sid of a message we sent. Nothing was stored (the insert found the sid taken), so say so with a 409."""
    if await storage.find_message_direction_by_sid(request.app[POOL], sid=sid) == Direction.OUTBOUND:
        raise Conflict("sid_in_use", "MessageSid: already the sid of a message sent from here; nothing stored")


def _our_id(name: str, raw: str | None) -> int | None:
    """Our message id in a status callback URL, written by us in ASCII digits; absent: match by sid."""
    if raw is None:
        return None
    message_id = ascii_number(raw)
    if message_id is None:
        raise Malformed("invalid_query", f"{name}: a message id in ASCII digits")
    return message_id


def add_routes(app: web.Application, carriers: Carriers) -> None:
    """Every carrier's webhook routes, and the extra routes it asks for (inbound messages go through its inbox,
    which refuses texts to another carrier's numbers as its webhook does: the sandbox's phone included)."""
    handlers = {"inbound": inbound_handler, "status": status_handler, "both": both_handler}
    for carrier in carriers:
        for path, kind in carrier.webhook_paths():
            handler = handlers[kind](carrier)
            for method in carrier.webhook_methods:
                app.router.add_route(method, path, handler)
        app.router.add_routes(carrier.routes(functools.partial(_receive_on, app, carrier=carrier)))

"""Carrier-facing handlers: verify the signature, parse, make durable, answer. Nothing is sent from here."""

from __future__ import annotations

import secrets

import structlog
from aiohttp import web

from gateway.messaging import inbound
from gateway.messaging import statuses
from gateway.carriers import Form, InboundSms
from gateway.storage import messages as storage
from gateway.errors import Malformed, Conflict, NotPermitted, GatewayError
from gateway.keys import CARRIER, CONFIG, METRICS, POOL, RECEIVER, STATUS_UPDATES
from gateway.relay.phones import to_e164
from gateway.api.validation import ascii_number, read_json, text
from gateway.vocabulary import Direction

log = structlog.get_logger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


async def _signed_form(request: web.Request) -> Form:
    """The POSTed fields, once the carrier's signature over them and the public URL checks out."""
    if request.content_type == "multipart/form-data" or (request.charset or "utf-8").lower() not in ("utf-8", "utf8"):
        # Carriers post forms urlencoded in UTF-8. A multipart body was read whole already (see
        # body_deadline_middleware), and another charset would be decoded by whatever codec it names.
        raise web.HTTPUnsupportedMediaType(reason="send the form as application/x-www-form-urlencoded, in UTF-8")
    try:
        form = list((await request.post()).items())
    except (ValueError, UnicodeDecodeError):
        raise Malformed("invalid_body", "the body is not a readable form") from None
    if not all(isinstance(value, str) for _, value in form):
        raise Malformed("invalid_body", "file uploads are not accepted")
    url = request.app[CONFIG].public_url + request.raw_path
    if not request.app[CARRIER].verify(url, form, request.headers):
        raise NotPermitted("bad_signature", "missing or wrong carrier signature")
    return form


async def _counted(request: web.Request, kind: str, work) -> web.Response:
    """Count every webhook by kind and outcome, refusals included."""
    metrics = request.app[METRICS]
    try:
        outcome, response = await work()
    except GatewayError as exc:
        metrics.webhooks.labels(kind, exc.code).inc()
        raise
    except Exception:
        metrics.webhooks.labels(kind, "error").inc()
        raise
    metrics.webhooks.labels(kind, outcome).inc()
    return response


async def inbound_sms(request: web.Request) -> web.Response:
    async def work():
        form = await _signed_form(request)
        sms = request.app[CARRIER].parse_inbound(form)
        outcome = await inbound.receive(request.app[RECEIVER], sms)
        if outcome == "duplicate":
            await _refuse_outbound_sid(request, sms.sid)
        # 200 only now: the message is durable in Postgres (receive raised otherwise, giving a 503).
        return outcome, web.Response(text=EMPTY_TWIML, content_type="text/xml")

    return await _counted(request, "inbound", work)


async def status_callback(request: web.Request) -> web.Response:
    async def work():
        form = await _signed_form(request)
        update = request.app[CARRIER].parse_status(form)
        if update is None:
            return "ignored", web.Response(status=200)
        message_id = _our_id(request.query.get("mid"))
        outcome = await statuses.apply(request.app[STATUS_UPDATES], message_id, update)
        return outcome, web.Response(status=200)

    return await _counted(request, "status", work)


async def _refuse_outbound_sid(request: web.Request, sid: str) -> None:
    """A "duplicate" whose sid is one of our outbound messages' is no retry: a carrier never gives an inbound the
    sid of a message we sent. Nothing was stored (the insert found the sid taken), so say so with a 409."""
    if await storage.find_message_direction_by_sid(request.app[POOL], sid=sid) == Direction.OUTBOUND:
        raise Conflict("sid_in_use", "MessageSid: already the sid of a message sent from here; nothing stored")


def _our_id(mid: str | None) -> int | None:
    """?mid= in a status callback URL is our message id, written by us in ASCII digits; absent: match by sid."""
    if mid is None:
        return None
    message_id = ascii_number(mid)
    if message_id is None:
        raise Malformed("invalid_query", "mid: a message id in ASCII digits")
    return message_id


async def sandbox_inbound(request: web.Request) -> web.Response:
    """Play either phone: {from, to, body} arrives as if the carrier had delivered it."""
    data = await read_json(request, {"from": str, "to": str, "body": str}, required=("from", "to", "body"))
    region = request.app[CONFIG].relay.default_region
    body = text(data["body"], "body", max_length=1600, multiline=True)
    sms = InboundSms("SM" + secrets.token_hex(16), to_e164(data["from"], field="from", region=region),
                     to_e164(data["to"], field="to", region=region), body)
    outcome = await inbound.receive(request.app[RECEIVER], sms)
    request.app[METRICS].webhooks.labels("sandbox", outcome).inc()
    return web.json_response({"sid": sms.sid, "outcome": outcome})


async def sandbox_messages(request: web.Request) -> web.Response:
    """The phone's screen: what the sandbox delivered to ?phone=, oldest first."""
    phone = to_e164(request.query.get("phone", ""), field="phone", region=request.app[CONFIG].relay.default_region)
    texts = [text for text in request.app[CARRIER].delivered if text["to"] == phone]
    return web.json_response({"messages": texts})


def add_routes(app: web.Application, wire: str, sandbox: bool) -> None:
    app.router.add_post(f"/webhooks/{wire}/sms", inbound_sms)
    app.router.add_post(f"/webhooks/{wire}/status", status_callback)
    if sandbox:
        app.router.add_post("/sandbox/inbound", sandbox_inbound)
        app.router.add_get("/sandbox/messages", sandbox_messages)

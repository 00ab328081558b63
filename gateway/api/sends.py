"""/v1/communities/{id}/sends and /v1/communities/{id}/templates/{template_id}/outcomes: triggered sends (an
approved template to one phone, on the platform's automation) and a template's outcome log (README "Triggered
sends"). Under /v1/communities/{id}, so a token limited to some communities reaches exactly theirs."""

from __future__ import annotations

from collections import Counter

from aiohttp import web

from gateway.api import broadcast_types as bt
from gateway.api.contract import PHONE_ERRORS, Routes
from gateway.api.validation import path_id
from gateway.broadcasting import broadcasts, rules, sends
from gateway.keys import POOL, TEMPLATE_SENDS
from gateway.platform import communities
from gateway.relay import contact_data

routes = Routes("template sends")
TEMPLATE = ("community_not_found", "template_not_found")


@routes.post("/v1/communities/{id}/sends", body=bt.NewSend, answer=bt.TemplateSend, status=201,
             errors=(*TEMPLATE, "template_not_approved", *PHONE_ERRORS, "recipient_not_opted_in",
                     "recipient_opted_out", "missing_fields", "message_too_long", "no_sending_number"))
async def send(request: web.Request, body: bt.NewSend) -> bt.TemplateSend:
    """Send an approved template to one phone
    The platform's automations call this when a program event happens ("reward approved"), with an Idempotency-Key:
    a retry with the same key sends once and answers the same. Rendered with the contact's name ({name}) and
    fields, and data over them. Marketing needs the contact opted in (409 recipient_not_opted_in), any category
    not opted out (409 recipient_opted_out); nothing is stored then. Answers the message: queued, or blocked
    (do-not-disturb, test mode's allow list) with the reason; GET /v1/messages/{id} follows it."""
    template_sends = request.app[TEMPLATE_SENDS]
    community = await communities.find(template_sends.pool, path_id(request))
    contact_data.check_field_names(body.data, "data")
    sent = await sends.send(template_sends, community, body.template_id, body.to, body.data)
    message = sent.message
    return bt.TemplateSend(id=message.id, status=message.status, status_reason=message.status_reason,
                           outcome=rules.outcome(message.status, message.status_reason),
                           template_id=sent.template.id, category=sent.template.category, from_=sent.from_number,
                           to=sent.to_number, body=sent.body, segments=message.segments)


def _log(counts: Counter, statuses: Counter | None = None) -> bt.OutcomeLog:
    return bt.OutcomeLog(messages=sum(counts.values()), outcomes={str(k): v for k, v in sorted(counts.items())},
                         statuses=None if statuses is None else {str(k): v for k, v in sorted(statuses.items())})


@routes.get("/v1/communities/{id}/templates/{template_id}/outcomes", answer=bt.TemplateOutcomes, errors=TEMPLATE)
async def outcomes(request: web.Request) -> bt.TemplateOutcomes:
    """A template's outcome log
    Its messages counted in the log's words (processing, completed, delivered, rate_limited, held, blocked, failed,
    canceled) and by status: all of them, the triggered sends', and each broadcast's."""
    pool = request.app[POOL]
    community = await communities.find(pool, path_id(request))
    template_id = path_id(request, "template_id")
    found = await broadcasts.template_outcomes(pool, community.id, template_id)
    return bt.TemplateOutcomes(
        template_id=template_id, all=_log(found.outcomes, found.statuses),
        triggered=_log(found.by_broadcast.get(None, Counter())),
        broadcasts=[bt.BroadcastLog(broadcast_id=bid, messages=sum(c.values()),
                                    outcomes={str(k): v for k, v in sorted(c.items())})
                    for bid, c in sorted((b, c) for b, c in found.by_broadcast.items() if b is not None)])

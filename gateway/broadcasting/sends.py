"""Triggered sends: one approved template, rendered for one phone, stored and queued like any text we write
(README "Triggered sends"). What broadcasts share with them is here too: the template check and the rendering."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import asyncpg
import structlog

from gateway.broadcasting import rules
from gateway.config_channels import BroadcastSettings
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.messaging.dispatch import Dispatcher
from gateway.ops.metrics import Metrics
from gateway.relay import segments
from gateway.relay.phones import mask
from gateway.relay.templates import MissingFields, render
from gateway.storage import broadcasts as storage
from gateway.storage import communities as number_rows
from gateway.storage.broadcasts import TemplateToSend
from gateway.storage.communities import Community
from gateway.storage.db import Executor
from gateway.storage.messages import StoredOutbound
from gateway.verification import numbers
from gateway.verification.line_types import LineTypes
from gateway.vocabulary import MessageKind, SkipReason, TemplateCategory, TemplateState

log = structlog.get_logger(__name__)
REFUSALS = {SkipReason.OPTED_OUT: "recipient_opted_out", SkipReason.NOT_OPTED_IN: "recipient_not_opted_in"}


@dataclass(frozen=True)
class TemplateSends:
    """What triggered sends and broadcasts use; built once in app.py."""

    pool: asyncpg.Pool
    dispatcher: Dispatcher
    line_types: LineTypes
    metrics: Metrics
    config: BroadcastSettings


@dataclass(frozen=True)
class Sent:
    """A triggered send's message, as stored (queued, or blocked with the reason)."""

    message: StoredOutbound
    template: TemplateToSend
    from_number: str
    to_number: str
    body: str


async def approved_template(db: Executor, community_id: int, template_id: int) -> TemplateToSend:
    """The community's template, approved; NotFound (another community's too), Conflict when not approved."""
    template = await storage.find_template_to_send(db, community_id=community_id, template_id=template_id)
    if template is None:
        raise NotFound("template_not_found", f"no template {template_id} in community {community_id}")
    if template.state != TemplateState.APPROVED:
        raise Conflict("template_not_approved", f"template {template_id} is {template.state}: only an approved "
                                                "template sends (submit it, and a reviewer approves it)")
    return template


def rendered(body: str, values: Mapping[str, str]) -> str:
    """The body for one recipient. InvalidInput missing_fields naming them, or message_too_long."""
    try:
        text = render(body, values)
    except MissingFields as missing:
        raise InvalidInput("missing_fields", f"data: no value for {', '.join(missing.names)} (the contact's name "
                                             "and fields, and data, give none)", fields=missing.names) from None
    if segments.length(text) > segments.MAX_BODY:
        raise InvalidInput("message_too_long", f"the rendered text is over {segments.MAX_BODY} characters")
    return text


def no_sender(category: TemplateCategory) -> Conflict:
    return Conflict("no_sending_number", f"no number of the community may send a {category} template: one of that "
                                         "category, else one with none, neither dedicated to a member nor a team's")


async def send(sends: TemplateSends, community: Community, template_id: int, to: str,
               data: Mapping[str, str]) -> Sent:
    """Render an approved template for a phone the rules let it reach, store it and queue it (or store it blocked).
    Refusals: NotFound, Conflict (not approved, the preference, no number), InvalidInput (the phone, the fields)."""
    pool = sends.pool
    template = await approved_template(pool, community.id, template_id)
    checked = await numbers.check(sends.line_types, to, field="to", policy=numbers.Policy.of(community))
    if await number_rows.find_number_owner(pool, phone=checked.phone) is not None:
        raise InvalidInput("invalid_number", "to: one of the gateway's own numbers")
    contact = await storage.find_send_contact(pool, community_id=community.id, phone=checked.phone,
                                              category=template.category)
    if skip := rules.audience_skip(template.category, contact.preference):
        sends.metrics.template_sends.labels(MessageKind.TRIGGERED, template.category, "refused").inc()
        raise Conflict(REFUSALS[skip], f"to: the contact's preference for {template.category} texts is "
                                       f"{contact.preference}" + (", not opted_in" if skip == SkipReason.NOT_OPTED_IN
                                                                  else ""))
    body = rendered(template.body, rules.merge_values(contact.name, contact.fields, data))
    sender = rules.choose_sender(rules.sender_pool(await storage.list_sending_numbers(
        pool, community_id=community.id), template.category), checked.phone)
    if sender is None:
        raise no_sender(template.category)
    priority = rules.priority(MessageKind.TRIGGERED, template.category)
    message = await storage.insert_template_message(
        pool, community_id=community.id, kind=MessageKind.TRIGGERED, priority=priority, from_number=sender,
        to_number=checked.phone, body=body, segments=segments.count(body), template_id=template.id,
        category=template.category)
    await sends.dispatcher.dispatch(message, priority, sender)
    sends.metrics.template_sends.labels(MessageKind.TRIGGERED, template.category, message.status).inc()
    log.info("template_sent", template_id=template.id, message_id=message.id, status=message.status,
             phone=mask(checked.phone))
    return Sent(message, template, sender, checked.phone, body)

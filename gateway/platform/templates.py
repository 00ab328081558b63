"""Message templates: written by the platform, reviewed by a token with the reviewer right, previewed with sample data,
and texted to a team member's phone as a test (README "Templates"). Only an approved template sends (broadcasts and
triggered sends check the state); a test goes from any state."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg
import structlog

from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.messaging.dispatch import Dispatcher
from gateway.relay import assignment, segments
from gateway.relay import rules as relay
from gateway.relay import templates as rules
from gateway.relay.assignment import NumberUse, Placement
from gateway.relay.phones import mask
from gateway.storage import communities as community_rows, contacts, messages, templates as rows
from gateway.storage.communities import Community
from gateway.storage.db import Executor
from gateway.storage.messages import StoredOutbound
from gateway.storage.templates import Template
from gateway.tokens import ApiToken
from gateway.vocabulary import MessageKind, Priority, TemplateCategory

log = structlog.get_logger(__name__)
TEST_PREFIX = "[Test] "  # a test text says so: the team member knows it did not go to anyone else


async def find(db: Executor, community_id: int, template_id: int) -> Template:
    found = await rows.find_template(db, community_id=community_id, template_id=template_id)
    if found is None:
        raise NotFound("template_not_found", f"community {community_id} has no template {template_id}")
    return found


def _taken(name: str) -> Conflict:
    return Conflict("template_name_taken", f"the community has a template named {name!r} already")


async def create(db: Executor, community_id: int, name: str, category: TemplateCategory, body: str) -> Template:
    created = await rows.insert_template(db, community_id=community_id, name=name, category=category, body=body)
    if created is None:
        raise _taken(name)
    log.info("template_created", community_id=community_id, template_id=created.id)
    return created


async def update(db: Executor, community_id: int, template_id: int, name: str | None,
                 category: TemplateCategory | None, body: str | None) -> Template:
    """Change a template; a new body or category takes it back to draft (update_template.sql)."""
    try:
        changed = await rows.update_template(db, community_id=community_id, template_id=template_id, name=name,
                                             category=category, body=body)
    except asyncpg.UniqueViolationError:
        raise _taken(name or "") from None
    if changed is None:
        raise NotFound("template_not_found", f"community {community_id} has no template {template_id}")
    return changed


async def delete(db: Executor, community_id: int, template_id: int) -> None:
    """Delete a template nothing was sent from; Conflict (template_in_use) otherwise: the messages keep naming it."""
    try:
        deleted = await rows.delete_template(db, community_id=community_id, template_id=template_id)
    except asyncpg.ForeignKeyViolationError:
        deleted = False
    if not deleted:
        await find(db, community_id, template_id)
        raise Conflict("template_in_use", "messages were sent from this template: it stays, as their record")
    log.info("template_deleted", community_id=community_id, template_id=template_id)


async def review(db: Executor, community_id: int, template_id: int, action: str, token: ApiToken | None,
                 note: str | None = None) -> Template:
    """submit, approve or reject (rules.REVIEW). Conflict (wrong_template_state) from another state."""
    from_states, to_state = rules.REVIEW[action]
    reviewer = None if action == "submit" else (token.name if token is not None else "")
    moved = await rows.review_template(db, community_id=community_id, template_id=template_id, state=to_state,
                                       from_states=from_states, note=note, reviewer=reviewer)
    if moved is None:
        found = await find(db, community_id, template_id)
        raise Conflict("wrong_template_state", f"the template is {found.state}: only a "
                                               f"{' or '.join(sorted(from_states))} template can be {to_state}")
    log.info(LOGGED[action], community_id=community_id, template_id=template_id, reviewer=reviewer)
    return moved


LOGGED = {"submit": "template_submitted", "approve": "template_approved", "reject": "template_rejected"}


def identification(community: Community) -> str:
    """The community's sender identification with its sender's name, as begin_send.sql puts it on a first text."""
    return community.sender_id_template.replace("{sender name}", community.sender_name or community.name)


async def send_test(pool: asyncpg.Pool, dispatcher: Dispatcher, community: Community, template: Template, to: str,
                    data: Mapping[str, str]) -> StoredOutbound:
    """Text the template, rendered with data (over the fields of the contact at `to`, if any), to a validated
    phone, through the normal outbound path: test mode, opt-outs, DND and the sender identification apply.
    InvalidInput (missing_fields, message_too_long) when it cannot be rendered or sent."""
    async with pool.acquire() as conn, conn.transaction():
        contact = await contacts.find_contact(conn, community_id=community.id, phone=to)
        try:
            body = TEST_PREFIX + rules.render(template.body, {**(contact.fields if contact else {}), **data})
        except rules.MissingFields as missing:
            raise InvalidInput("missing_fields", f"data: no value for {', '.join(missing.names)}") from None
        if (refused := segments.unsendable(body)) is not None:
            raise InvalidInput("message_too_long", refused[1])
        sender = await _sender(conn, community)
        message = await messages.insert_outbound_message(
            conn, community_id=community.id, conversation_id=None, kind=MessageKind.TEMPLATE_TEST,
            priority=Priority.RELAY, from_number=sender, to_number=to, body=body, segments=segments.count(body))
        await rows.set_message_template(conn, message_id=message.id, template_id=template.id)
    await dispatcher.dispatch(message, Priority.RELAY, sender)
    log.info("template_test_sent", community_id=community.id, template_id=template.id, phone=mask(to),
             status=message.status)
    return message


async def _sender(conn: asyncpg.Connection, community: Community) -> str:
    """A community number to send from, as a verification code's is chosen: an unassigned one when there is one (a
    reply to a dedicated or a team's number would open a conversation there)."""
    usage = await community_rows.number_usage(conn, community_id=community.id, participant_ids=[])
    if not usage:
        raise Conflict("community_has_no_numbers", "the community owns no phone numbers")
    pool = assignment.eligible([NumberUse(n.phone, n.member, n.team_id) for n in usage], Placement())
    sender, _ = relay.choose_number(pool or [n.phone for n in usage], [], {n.phone: n.open for n in usage})
    return sender


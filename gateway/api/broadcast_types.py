"""The API's types for template sends: triggered sends, broadcasts and the outcome log (README "Triggered sends",
"Broadcasts"), in the style of gateway/api/types.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

from gateway.api.types import Id, Limit, ListedPhone, Phone, Strict, text
from gateway.relay.contact_data import FIELD_NAME
from gateway.vocabulary import (BroadcastState, MessageStatus, Preference, RecipientOutcome, SkipReason,
                                TemplateCategory, TemplateOutcome)

# The names' rule is in the schema, but checked by the handlers (contact_data.check_field_names): msgspec's refusal
# of a dict key names neither the key nor the rule.
Data = Annotated[dict[str, Annotated[str, Meta(max_length=500)]], Meta(
    max_length=50, description="merge values: each a field's name and its text (at most 500 characters), over the "
                               "contact's name and fields", examples=[{"reward_amount": "$20"}],
    extra_json_schema={"propertyNames": {"pattern": FIELD_NAME.pattern, "description": "a merge field's name"}})]


class NewSend(Strict, kw_only=True):
    """One approved template to one phone, rendered with its contact's name and fields and data over them."""

    template_id: Id
    to: Phone
    data: Data = {}


class TemplateSend(Struct, rename={"from_": "from"}):
    """A triggered send's message as stored: queued, or blocked with the reason; outcome in the log's words (then
    GET /v1/messages/{id} follows it)."""

    id: int
    status: MessageStatus
    status_reason: str | None
    outcome: TemplateOutcome
    template_id: int
    category: TemplateCategory
    from_: str
    to: str
    body: str
    segments: int


class AudienceFilter(Strict, kw_only=True):
    """The community's contacts with this preference (the one that governs the template's category) and/or tag;
    neither: every contact."""

    preference: Preference | None = None
    tag: text(64) | None = None


class Audience(Strict, kw_only=True):
    """Exactly one of phones and filter."""

    phones: Annotated[list[ListedPhone], Meta(min_length=1, max_length=4000, description=(
        "phones, each once (any phone: one the community has no contact for has no name or fields, and is not "
        "opted in); one that cannot be read is skipped as invalid_number. The body's size limit "
        "(server.max_body_bytes) allows about 4,000; more: tag the contacts and use a filter"))] | None = None
    filter: AudienceFilter | None = None


SendAt = Annotated[str, Meta(max_length=40, description=(
    "when to start (absent: now): ISO 8601, naive in the community's time zone (2026-12-01T10:00) or with an offset "
    "(2026-12-01T10:00:00-08:00); a time past starts at once; at most 366 days ahead"))]


class NewBroadcast(Strict, kw_only=True):
    template_id: Id
    audience: Audience
    data: Data = {}
    send_at: SendAt | None = None


class BroadcastAudience(Struct, omit_defaults=True):
    phones: int | None = None  # how many were listed
    filter: AudienceFilter | None = None


class Progress(Struct):
    total: int  # recipients
    processed: int  # skipped or sent
    pending: int


class BroadcastOutcomes(Struct):
    """Every recipient counted once: total = pending + the skipped + the messages; messages by status group (queued
    counts those at the carrier's door too), held and blocked again by reason."""

    skipped: dict[str, int]  # by SkipReason
    messages: dict[str, int]  # queued, sent, delivered, failed, held, blocked, canceled
    held: dict[str, int]  # by hold reason
    blocked: dict[str, int]  # by block reason


class Broadcast(Struct, kw_only=True, omit_defaults=True):
    id: int
    community_id: int
    template_id: int
    category: TemplateCategory
    state: BroadcastState
    audience: BroadcastAudience
    data: dict[str, str]
    send_at: datetime
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: Progress | None = None  # in GET one, the answer of create and cancel
    outcomes: BroadcastOutcomes | None = None


class Broadcasts(Struct):
    broadcasts: list[Broadcast]  # without progress and outcomes: GET one for those


class BroadcastPage(Strict):
    after: Annotated[int, Meta(ge=0, le=10 ** 18, description="an id: only those after it")] = 0
    limit: Limit = 100


class Recipient(Struct):
    id: int
    phone: str
    outcome: RecipientOutcome
    skip_reason: SkipReason | None
    message_id: int | None
    status: MessageStatus | None  # the message's
    status_reason: str | None
    processed_at: datetime | None


class Recipients(Struct):
    recipients: list[Recipient]  # in the order added; the next page: after = the last id


class OutcomeLog(Struct):
    """Messages counted in the outcome log's words (TemplateOutcome) and by status."""

    messages: int
    outcomes: dict[str, int]
    statuses: dict[str, int] | None = None


class BroadcastLog(Struct):
    broadcast_id: int
    messages: int
    outcomes: dict[str, int]


class TemplateOutcomes(Struct):
    template_id: int
    all: OutcomeLog  # every message of the template
    triggered: OutcomeLog  # triggered sends
    broadcasts: list[BroadcastLog]  # each broadcast's, oldest first


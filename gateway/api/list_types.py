"""The types of the lists (gateway/api/lists.py), the event log and replays (gateway/api/events.py) and a
community's numbers (gateway/api/numbers.py): msgspec Structs that validate the queries and bodies and give
/openapi.json their schemas, as gateway/api/types.py does for the rest.

A query's fields are its parameters (every value a string in the URL; integers in ASCII digits). What a type
cannot check is checked after decoding and said in the field's description: times and cursors are read by
gateway/api/listing.py, phones parsed to E.164 by the handlers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from gateway.api.types import CommunityBase, Conversation, Limit, Message, Phone, Strict, Verification
from gateway.vocabulary import (CommunityMode, ComplianceState, ConversationStatus, DeliveryStatus, EventTarget,
                                EventType, MessageKind, MessageStatus, VerificationStatus)

# --- Queries ----------------------------------------------------------------------------------------------------

Cursor = Annotated[str, Meta(max_length=300, description="the `next` of the page before, passed back as it came")]
Time = Annotated[str, Meta(max_length=40, description="an ISO 8601 time with an offset, such as 2026-11-29T23:00:00Z",
                           examples=["2026-11-29T23:00:00Z"])]
QueryId = Annotated[int, Meta(gt=0, lt=2 ** 62, description="expected an id")]
QueryPhone = Annotated[str, Meta(max_length=40, description="a phone, E.164 (write + as %2B) or national in "
                                                            "relay.default_region", examples=["+14155552671"])]


class ListQuery(Strict):
    """What every list takes (gateway/api/listing.py): since inclusive, until exclusive."""

    limit: Limit = 100
    cursor: Cursor = ""
    created_since: Time = ""
    created_until: Time = ""


class CommunityQuery(ListQuery):
    mode: CommunityMode | None = None


class ConversationQuery(ListQuery):
    community_id: QueryId | None = None
    phone: QueryPhone = ""  # either participant
    status: ConversationStatus | None = None
    updated_since: Time = ""  # last activity
    updated_until: Time = ""


class MessageQuery(ListQuery):
    community_id: QueryId | None = None
    conversation_id: QueryId | None = None
    phone: QueryPhone = ""  # sender or recipient
    kind: MessageKind | None = None
    status: MessageStatus | None = None


class VerificationQuery(ListQuery):
    community_id: QueryId | None = None
    phone: QueryPhone = ""
    status: VerificationStatus | None = None  # a pending one past its expiry is expired


class EventQuery(ListQuery):
    status: DeliveryStatus | None = None
    type: EventType | None = None


class NumberRemoval(Strict):
    close_conversations: Annotated[Literal["true", "false"], Meta(
        description="true: close the number's open conversations (reason number_removed) instead of refusing "
                    "with number_in_use")] = "false"


# --- Bodies -----------------------------------------------------------------------------------------------------

class NewNumber(Strict):
    """A number for the community, on a configured carrier (absent or null: the gateway's default carrier)."""

    phone: Phone
    carrier: Annotated[str | None, Meta(extra={"code": "unknown_carrier"})] = None


class Replay(Strict):
    """Which deliveries to queue again: in status (failed unless named), created in [since, until), of type."""

    status: DeliveryStatus | None = None
    since: Time | None = None
    until: Time | None = None
    type: EventType | None = None


# --- Answers ----------------------------------------------------------------------------------------------------

class ComplianceSummary(Struct):
    state: ComplianceState
    changed_at: datetime | None


class CommunitySummary(CommunityBase):
    """A community in a list: its settings, numbers and state, without the usage counters (GET one for those)."""

    compliance: ComplianceSummary


Next = Annotated[str, Meta(description="the cursor of the next page (absent on the last page)")]


class Communities(Struct):
    communities: list[CommunitySummary]
    next: Next | UnsetType = UNSET


class Conversations(Struct):
    conversations: list[Conversation]
    next: Next | UnsetType = UNSET


class MessagePage(Struct):
    messages: list[Message]
    next: Next | UnsetType = UNSET


class Verifications(Struct):
    verifications: list[Verification]
    next: Next | UnsetType = UNSET


class LoggedEvent(Struct):
    """A delivery of an event: last_error is the last failed try's (kept after a later success)."""

    id: int
    webhook_id: str
    type: str  # an event type
    target: EventTarget
    url: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None  # when pending
    created_at: datetime
    updated_at: datetime
    payload: dict[str, Any]


class EventLog(Struct):
    events: list[LoggedEvent]
    next: Annotated[str | None, Meta(description="the cursor of the next page; null on the last page")]


class ReplayedOne(Struct):
    id: int
    status: DeliveryStatus


class Replayed(Struct):
    replayed: list[int]


class RemovedNumber(Struct):
    phone: str
    closed_conversations: list[int]
    canceled_messages: int

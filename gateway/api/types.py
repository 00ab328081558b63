"""Every request body, query and answer of the internal API, defined once: msgspec Structs that both validate the
requests (gateway/api/reading.py read_body) and give the OpenAPI document its schemas (gateway/api/openapi.py).

What msgspec checks (types, lengths, ranges, enums) is written here with msgspec.Meta, so the schema shows it. What it
cannot check is marked here and checked in Python after decoding: text(...) fields are not blank and have no control
characters (contract.py); phones are parsed to E.164 and judged by line type, settings such as time zones and URLs
are checked by the handlers. Meta(extra={"code": ...}) makes a refusal at or under that field answer that code
instead of invalid_field or missing_field (a phone in a list answers invalid_number, as it always has).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType
from gateway.api.media_types import Attachment
from gateway.api.usage_types import UnitLimit, Units

from gateway.vocabulary import (CommunityMode, ComplianceState, ConversationShape, ConversationStatus, Direction, Dnd, EventType, HoldReason,
                                LineType, MessageKind, MessageStatus, Preference, UnknownLineType,
                                InterceptPolicy, ParticipantRole, TeamStyle, UsageUnit, VerificationStatus)


def text(max_length: int, *, multiline: bool = False, **meta: Any) -> Any:
    """A text of at most max_length characters, not blank, without control characters (newlines, carriage returns
    and tabs allowed when multiline); a one-line text is stored stripped."""
    rule = "not blank, no control characters, " + ("newlines allowed" if multiline else "one line, stripped")
    described = f"{meta.pop('description')} ({rule})" if "description" in meta else rule
    return Annotated[str, Meta(max_length=max_length, extra={"text": "multiline" if multiline else "line"},
                               description=described, **meta)]


Id = Annotated[int, Meta(ge=0, lt=2 ** 62)]
Phone = Annotated[str, Meta(description="a phone number, E.164 or national in the community's default region",
                            examples=["+14155552671"])]
# A number given in a list: anything wrong with it answers invalid_number.
ListedPhone = Annotated[str, Meta(extra={"code": "invalid_number"}, examples=["+14155552671"])]
Url = Annotated[str, Meta(max_length=500, description="an http(s) URL", examples=["https://platform.example/hooks"])]
Region = Annotated[str, Meta(description="an ISO country code phonenumbers knows", examples=["US"])]
Template = text(200, description="must contain {message}", examples=["{sender name}: {message} Reply STOP to opt out."])
TimeZone = text(64, description="an IANA time zone both Postgres and Python know", examples=["America/New_York"])
LocalTime = text(5, description="a local time, HH:MM, within 08:00 to 21:00", examples=["08:00"])
Body = text(1600, multiline=True, description="a message text (the carrier's limit)")


class Strict(Struct, forbid_unknown_fields=True):
    """A request body or query: unknown fields are refused."""


# --- Requests ---------------------------------------------------------------------------------------------------

class Settings(Strict, kw_only=True):
    """A community's settings; in a PATCH only those named change, and null clears a nullable one."""

    name: text(100) | UnsetType = UNSET
    mode: CommunityMode | UnsetType = UNSET
    inactivity_days: Annotated[int, Meta(ge=1, le=3650)] | UnsetType = UNSET
    countries: Annotated[list[Region], Meta(min_length=1)] | UnsetType = UNSET
    default_region: Region | UnsetType = UNSET
    require_verification: bool | UnsetType = UNSET
    unknown_line_type: UnknownLineType | UnsetType = UNSET
    sender_name: text(40) | None | UnsetType = UNSET
    sender_id_template: Template | UnsetType = UNSET
    help_text: text(320) | None | UnsetType = UNSET
    opt_out_webhook_url: Url | None | UnsetType = UNSET
    alert_webhook_url: Url | None | UnsetType = UNSET
    intercept_url: Url | None | UnsetType = UNSET
    intercept_policy: InterceptPolicy | UnsetType = UNSET
    out_of_session_url: Url | None | UnsetType = UNSET
    event_url: Url | None | UnsetType = UNSET
    event_types: Annotated[list[EventType], Meta(min_length=1, max_length=len(EventType))] | None | UnsetType = UNSET
    timezone: TimeZone | UnsetType = UNSET
    daily_limit_levels: Annotated[list[Annotated[int, Meta(ge=1, le=10 ** 6)]],
                                  Meta(min_length=1, max_length=20)] | None | UnsetType = UNSET
    daily_limit_ceiling: Annotated[int, Meta(ge=1, le=10 ** 6)] | None | UnsetType = UNSET
    monthly_limit: Annotated[int, Meta(ge=0, le=10 ** 9)] | None | UnsetType = UNSET
    dedicated_numbers_shared: bool | UnsetType = UNSET  # others may start conversations from a dedicated number
    mms_daily_limit: UnitLimit = UNSET  # MMS and WhatsApp messages, apart from SMS segments (usage_types)
    mms_monthly_limit: UnitLimit = UNSET
    whatsapp_daily_limit: UnitLimit = UNSET
    whatsapp_monthly_limit: UnitLimit = UNSET
    quiet_hours: bool | UnsetType = UNSET  # hold marketing and bulk texts outside the window (README "Quiet hours")
    quiet_hours_start: LocalTime | UnsetType = UNSET
    quiet_hours_end: LocalTime | UnsetType = UNSET


class NumberOnCarrier(Strict):
    """A community number on a named carrier (absent or null: the gateway's default carrier)."""

    phone: ListedPhone
    carrier: Annotated[str | None, Meta(extra={"code": "unknown_carrier"})] = None


class NewCommunity(Settings, kw_only=True):
    name: text(100)
    numbers: Annotated[list[Annotated[ListedPhone | NumberOnCarrier, Meta(extra={"code": "invalid_number"})]],
                       Meta(min_length=1, description="its numbers, each once")]


class Numbers(Strict):
    numbers: Annotated[list[ListedPhone], Meta(min_length=1, max_length=100)]


class HeldIds(Strict):
    """Which held messages (absent or null: all of them), and held for what: the monthly review queue (the
    default), texts the community's intercept URL gave no useful answer for (intercept_policy hold), or texts
    waiting for WhatsApp's rules or for quiet hours (released, they are decided again)."""

    ids: Annotated[list[Annotated[int, Meta(gt=0, lt=2 ** 62)]], Meta(min_length=1, max_length=1000)] | None = None
    reason: Literal["monthly_limit", "intercept_unanswered", "whatsapp_window",  # HoldReason values
                    "whatsapp_opt_in", "quiet_hours"] = "monthly_limit"


class Person(Strict):
    phone: Phone
    name: text(60)


class NewConversation(Strict, kw_only=True):
    community_id: Id
    prospect: Person
    advocate: Person
    message: Body
    proxy_number: Phone | None = None  # a community number to start from (README "Dedicated numbers and team inboxes")


class NewMessage(Strict, rename={"from_": "from"}):
    """`from`: "prospect" or "advocate" in a pair; "customer" or a member's phone in a one-to-group conversation; a
    participant's phone in a group text (any active participant's phone works in every shape)."""
    from_: Literal["prospect", "advocate", "customer"] | Phone
    body: Body
    media: Annotated[list[Id], Meta(max_length=10, description="uploads (POST /v1/media) sent with it")] = []


class Closing(Strict):
    reason: text(200) | None = None


class NewVerification(Strict):
    community_id: Id
    phone: Phone


class Code(Strict):
    code: Annotated[str, Meta(description="the 6 digits that were texted", examples=["123456"])]


# --- Queries (every value a string in the URL; numbers in ASCII digits) ----------------------------------------

After = Annotated[int, Meta(ge=0, le=10 ** 18, description="a message id: only messages after it")]
Limit = Annotated[int, Meta(ge=1, le=1000, description="1 to 1000")]


class Page(Strict):
    after: After = 0
    limit: Limit = 100


class HeldQuery(Page):
    reason: HoldReason = HoldReason.MONTHLY_LIMIT


# --- Answers ----------------------------------------------------------------------------------------------------

class Daily(Struct):
    level: int
    limit: int
    used: int
    resets_at: datetime | None
    levels: list[int]
    ceiling: int


class Monthly(Struct):
    limit: int | None
    used: int


class Compliance(Struct):
    state: ComplianceState
    changed_at: datetime | None
    error_rate: float | None
    opt_out_rate: float | None
    checked_at: datetime | None


class CommunityBase(Struct):
    """What a community's answer and its list item share; carriers: each of its numbers -> the carrier its texts
    go through."""

    id: int
    name: str
    mode: CommunityMode
    inactivity_days: int
    countries: list[str]
    default_region: str
    require_verification: bool
    unknown_line_type: UnknownLineType
    sender_name: str | None
    sender_id_template: str
    help_text: str | None
    opt_out_webhook_url: str | None
    alert_webhook_url: str | None
    intercept_url: str | None
    intercept_policy: InterceptPolicy
    out_of_session_url: str | None
    event_url: str | None
    event_types: list[EventType] | None  # null: every type
    timezone: str
    created_at: datetime
    updated_at: datetime
    numbers: list[str]
    open_conversations: int
    carriers: dict[str, str]
    dedicated_numbers_shared: bool
    quiet_hours: bool  # marketing and bulk texts wait for the recipient's window, quiet_hours_start to _end
    quiet_hours_start: str  # HH:MM, the recipient's local time
    quiet_hours_end: str


class Community(CommunityBase):
    """A community, with its usage against its limits."""

    daily: Daily  # SMS segments
    monthly: Monthly
    units: Units  # MMS and WhatsApp messages, counted apart
    compliance: Compliance


class AllowList(Struct):
    numbers: list[str]


class Contact(Struct):
    """A contact's SMS preference and DND (with its data: gateway/api/contact_types.py ContactWithData)."""
    phone: str
    preference: Preference
    preference_changed_at: datetime | None
    preference_keyword: str | None
    preference_source: str | None
    dnd: Dnd | None
    dnd_reason: str | None
    dnd_at: datetime | None
    first_inbound_at: datetime | None
    marketing_preference: Preference = Preference.UNKNOWN  # marketing sends', where the community keeps them apart


class Message(Struct, rename={"from_": "from"}):
    id: int
    conversation_id: int | None
    community_id: int | None
    direction: Direction
    kind: MessageKind
    status: MessageStatus
    status_reason: str | None
    carrier_sid: str | None
    error_code: str | None
    error_message: str | None
    attempts: int
    body: str
    segments: int
    from_: str
    to: str
    media_urls: list[str]
    created_at: datetime
    updated_at: datetime
    held_until: datetime | None = None  # held for quiet hours: when its recipient's window opens (README "Quiet hours")
    usage_unit: UsageUnit | None = None  # sms_segment, mms or whatsapp: what it counts as (outbound; decided when sent)


class StatusChange(Struct):
    status: MessageStatus
    error_code: str | None
    at: datetime


class MessageWithHistory(Message, kw_only=True):
    history: list[StatusChange]
    media: list[Attachment] = []  # its pictures (gateway/api/media_types.py)


class Messages(Struct):
    messages: list[Message]


class Released(Struct):
    released: list[int]


class Canceled(Struct):
    canceled: list[int]


class Delivery(Struct):
    """The short form of a message an API call created: did it go to the queue, or was it blocked?"""

    id: int
    status: MessageStatus
    status_reason: str | None
    segments: int


class Party(Struct):
    phone: str
    name: str
    preference: Preference


class Participant(Struct):
    """One who joined a conversation (a pair's prospect and advocate too); active false once they left."""
    phone: str
    name: str
    role: ParticipantRole
    active: bool


class Conversation(Struct):
    id: int
    community_id: int
    proxy_number: str
    code: str
    status: ConversationStatus
    prospect: Party
    advocate: Party
    created_at: datetime
    last_activity_at: datetime
    closed_at: datetime | None
    closed_reason: str | None
    shape: ConversationShape  # pair: prospect and advocate; one_to_group and group: see participants
    participants: list[Participant]
    team_style: TeamStyle | None  # one_to_group only
    claimed_by: str | None  # claim style: the phone of the member who took it
    team_id: int | None  # the team whose inbox it is (opened on the team's number, or with team_id)


class StartedConversation(Conversation, kw_only=True):
    notification: Delivery


class CodeMessage(Struct):
    id: int | None
    status: MessageStatus | None
    status_reason: str | None


class Verification(Struct):
    id: int
    community_id: int
    phone: str
    status: VerificationStatus
    expires_at: datetime
    created_at: datetime
    message: CodeMessage


class StartedVerification(Verification, kw_only=True):
    line_type: LineType


class CheckResult(Struct):
    status: VerificationStatus
    attempts_left: int | UnsetType = UNSET  # only while pending

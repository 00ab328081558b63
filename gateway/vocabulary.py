"""The gateway's vocabulary: every kind, status, priority, reason and outcome, named once.

Postgres stores these as text checked by constraints and functions in sql/migrations/;
tests/test_vocabulary.py reads those constraints and functions from a migrated database and fails when the two
sides differ. StrEnum members compare equal to their text, so a row's text and a member are interchangeable.
"""

from __future__ import annotations

from enum import StrEnum

from gateway import vocabulary_channels as _channels


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class MessageKind(StrEnum):
    """What a stored message is (messages.kind)."""

    INBOUND = "inbound"  # a text a phone sent to one of our numbers
    RELAY = "relay"  # that text, relayed to the other participant
    NOTIFICATION = "notification"  # written into a conversation by the platform
    AUTO_REPLY = "auto_reply"  # the answer to a text that belongs to no conversation
    HELP = "help"  # the answer to a code we do not know, or to HELP inside a conversation
    VERIFICATION = "verification"  # a one-time code
    KEYWORD_REPLY = "keyword_reply"  # the confirmation of STOP, START or HELP (carriers require it)
    WHATSAPP_TEMPLATE = "whatsapp_template"  # the community's approved template, outside a WhatsApp window
    TRIGGERED = "triggered"  # one approved template sent to one contact, on the platform's request
    BROADCAST = "broadcast"  # one recipient's copy of a broadcast
    TEMPLATE_TEST = "template_test"  # "send test": a template, approved or not, to a team member's phone


class TemplateCategory(StrEnum):
    """What a template sends (templates.category, messages.category, community_numbers.category): marketing texts
    need an opt-in and wait for quiet hours to end; transactional ones do neither."""

    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"


class TemplateState(StrEnum):
    """A template's review (templates.state): only an approved template sends."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


class Channel(StrEnum):
    """How a participant gets our messages from a number (whatsapp_contacts.channel; absent: sms)."""

    SMS = "sms"
    WHATSAPP = "whatsapp"


class Priority(StrEnum):
    """The outbound queue's lanes, drained in this order (messages.priority)."""

    URGENT = "urgent"
    RELAY = "relay"
    BULK = "bulk"


class MessageStatus(StrEnum):
    """A message's status (messages.status); carrier statuses only move forward (message_status_rank)."""

    QUEUED = "queued"
    HELD = "held"  # waits for a limit's reset, a release or a lifted restriction; not a carrier status
    SUBMITTING = "submitting"
    ACCEPTED = "accepted"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CANCELED = "canceled"
    BLOCKED = "blocked"
    RECEIVED = "received"  # an inbound message

    @property
    def rank(self) -> int:
        """The order statuses move in; a status never replaces one of a higher rank (message_status_rank)."""
        return _RANK[self]

    @property
    def is_final(self) -> bool:
        """No carrier callback changes it any more: a failure, a cancel or a block (message_status_is_final)."""
        return self in FINAL_STATUSES


_RANK = {
    MessageStatus.QUEUED: 0, MessageStatus.HELD: 0, MessageStatus.SUBMITTING: 1, MessageStatus.ACCEPTED: 2,
    MessageStatus.SENDING: 3, MessageStatus.SENT: 4, MessageStatus.DELIVERED: 5, MessageStatus.READ: 6,
    MessageStatus.UNDELIVERED: 5, MessageStatus.FAILED: 5, MessageStatus.CANCELED: 5, MessageStatus.BLOCKED: 5,
    MessageStatus.RECEIVED: 5,
}
FINAL_STATUSES = frozenset({MessageStatus.UNDELIVERED, MessageStatus.FAILED, MessageStatus.CANCELED,
                            MessageStatus.BLOCKED})
# The statuses a message in the outbound queue can have; the sweeper re-queues these when Redis lost them.
UNSENT_STATUSES = frozenset({MessageStatus.QUEUED, MessageStatus.SUBMITTING})


class BlockReason(StrEnum):
    """Why an outbound message was stored as blocked and never sent (outbound_block)."""

    NOT_ON_ALLOW_LIST = "not_on_allow_list"  # the community is in test mode
    OPTED_OUT = "opted_out"
    DND = "dnd"
    # The community's intercept URL answered 403 (gateway/platform/intercepts.py); set there, not by
    # outbound_block.
    INTERCEPTED = "intercepted"


class HoldReason(StrEnum):
    """Why an outbound message was stored as held (messages.status_reason with status held)."""

    DAILY_LIMIT = "daily_limit"
    MONTHLY_LIMIT = "monthly_limit"
    RESTRICTED = "restricted"
    # The number's carrier is not configured here (any more): released when a gateway serving it starts, or
    # on the next sweep of one that does (gateway/messaging/sweeper.py release_carrier_held).
    CARRIER_NOT_SERVED = "carrier_not_served"
    # A relayed text waits for the community's intercept URL to answer (gateway/platform/intercepts.py).
    INTERCEPTING = "intercepting"
    # The intercept URL gave no useful answer and the community's policy is hold: released or canceled by hand
    # (POST /v1/communities/{id}/held/release or /cancel with this reason).
    INTERCEPT_UNANSWERED = "intercept_unanswered"
    # A relayed text's pictures are being fetched from the carrier (gateway/media/fetching.py): released with
    # them once each is stored or refused.
    AWAITING_MEDIA = "awaiting_media"
    # WhatsApp (gateway/messaging/whatsapp.py): a text to a participant whose 24-hour customer-service window is
    # closed waits for their answer (the community's template asks for it); released when they write.
    WHATSAPP_WINDOW = "whatsapp_window"
    # A WhatsApp participant who never wrote to the number and was not recorded as opted in gets nothing
    # (no template either) until they write or the platform records their opt-in.
    WHATSAPP_OPT_IN = "whatsapp_opt_in"
    # A marketing or bulk text outside quiet hours in the recipient's time zone (gateway/compliance/quiet_hours.py):
    # messages.release_at says when its window opens; released then, and decided again when sent.
    QUIET_HOURS = "quiet_hours"


class NumberRemoval(StrEnum):
    """Why conversations closed and messages were canceled when a number left its community (closed_reason,
    messages.status_reason with status canceled): DELETE /v1/communities/{id}/numbers/{phone}."""

    NUMBER_REMOVED = "number_removed"


class Erased(StrEnum):
    """Why conversations closed and messages were canceled when a phone was erased from a community
    (closed_reason, messages.status_reason with status canceled): POST /v1/communities/{id}/erasures."""

    ERASED = "erased"


class ConversationStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    EXPIRED = "expired"


class ConversationShape(StrEnum):
    """How many people a conversation relays between (conversations.shape; README "Group texts")."""

    PAIR = "pair"  # a prospect and an advocate
    ONE_TO_GROUP = "one_to_group"  # one customer and 1..groups.max_members members
    GROUP = "group"  # 3 to 10 outside participants, each text to all the others


class TeamStyle(StrEnum):
    """How the members of a one_to_group conversation share it (conversations.team_style)."""

    EVERYONE = "everyone"  # every member sees everything
    CLAIM = "claim"  # the first member to reply takes it


class ParticipantRole(StrEnum):
    """A participant's part in a conversation (conversation_participants.role)."""

    PROSPECT = "prospect"
    ADVOCATE = "advocate"
    CUSTOMER = "customer"  # the one outside participant of a one_to_group conversation
    MEMBER = "member"  # a team member of a one_to_group conversation, or anyone in a group


class LeftReason(StrEnum):
    """Why a participant left a conversation (conversation_participants.left_reason)."""

    REMOVED = "removed"  # DELETE /v1/conversations/{id}/members/{phone}
    OPTED_OUT = "opted_out"  # STOP from a group member


# A conversation closes when fewer than two participants remain in it (closed_reason).
TOO_FEW = "too_few"


class CommunityMode(StrEnum):
    TEST = "test"
    LIVE = "live"


class UnknownLineType(StrEnum):
    """What a community does with a number whose line type nobody can tell."""

    ACCEPT = "accept"
    REFUSE = "refuse"


class ComplianceState(StrEnum):
    """A community's standing from its error and opt-out rates, in order of severity."""

    OK = "ok"
    WARNING = "warning"
    RESTRICTED = "restricted"

    @property
    def severity(self) -> int:
        return list(ComplianceState).index(self)


class Preference(StrEnum):
    """A contact's SMS preference (contacts.preference)."""

    UNKNOWN = "unknown"
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"


class Dnd(StrEnum):
    """Do-not-disturb on a contact after carrier errors (contacts.dnd): lifted by hand, or by time."""

    PERMANENT = "permanent"
    TEMPORARY = "temporary"


class VerificationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    FAILED = "failed"
    EXPIRED = "expired"


class DeliveryStatus(StrEnum):
    """A webhook delivery to a community (webhook_deliveries.status)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class UsagePeriod(StrEnum):
    DAY = "day"
    MONTH = "month"


class UsageUnit(StrEnum):  # what limits count (usage_counters.unit, messages.usage_unit), priced and counted apart
    SMS_SEGMENT = "sms_segment"  # the ramp-up and monthly_limit govern these; an MMS or WhatsApp message is one
    MMS = "mms"
    WHATSAPP = "whatsapp"


# Shards of each community's usage counters (usage_counters.shard is checked against this range), so concurrent
# sends of one community do not queue on one row lock.
USAGE_SHARDS = 16


class AutoReplyKind(StrEnum):
    """What an unrouted sender was told once per day (auto_replies.kind)."""

    AUTO_REPLY = "auto_reply"
    MEDIA = "media"  # the old notice that pictures were not relayed (rows from before pictures were relayed)


# --- Outcomes of the messaging side (metrics labels and log fields) ---

class InboundOutcome(StrEnum):
    """What became of an inbound text that is no keyword (gateway_webhooks_total's outcome)."""

    RELAYED = "relayed"
    BLOCKED = "blocked"  # stored, but every relayed part is blocked (opted out, DND, test mode)
    NOT_RELAYED = "not_relayed"  # nothing to relay: a picture alone, or a code alone
    DUPLICATE = "duplicate"  # a carrier retry of a text stored already
    HELP_SENT = "help_sent"  # an unknown or ended code: answered with the codes that work
    UNROUTED = "unrouted"  # no open conversation: the auto-reply (at most once a day)
    INTERCEPTING = "intercepting"  # stored; its relayed parts wait for the community's intercept URL
    OUT_OF_SESSION = "out_of_session"  # no open conversation: stored for the community's out-of-session URL
    AWAITING_MEDIA = "awaiting_media"  # stored; its relayed parts wait for its pictures to be fetched


class StatusOutcome(StrEnum):
    """What a carrier's status callback did."""

    APPLIED = "applied"
    STALE = "stale"  # older than the status the message has, or the message's status is final
    EARLY = "early"  # for a sid not recorded yet: kept until the send's reply records it


class SendOutcome(StrEnum):
    """One try of the drainer (gateway_sends_total's result)."""

    ACCEPTED = "accepted"
    RETRY = "retry"
    FAILED = "failed"
    REPEAT_STOPPED = "repeat_stopped"  # the carrier took it already: recorded, never sent again
    CRASHED = "crashed"


class KeywordKind(StrEnum):
    """What a keyword asks for (compliance/keywords.py); an inbound keyword's outcome is "keyword_" + this."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


class LineType(StrEnum):
    """What kind of line a number is (line_types.line_type), as phonenumbers or a line-type lookup tells."""

    MOBILE = "mobile"
    VOIP = "voip"
    PERSONAL = "personal"
    LANDLINE = "landline"
    TOLL_FREE = "toll_free"
    PREMIUM = "premium"
    SHARED_COST = "shared_cost"
    UAN = "uan"
    VOICEMAIL = "voicemail"
    PAGER = "pager"
    UNKNOWN = "unknown"  # nobody could tell


# The platform's callbacks and events are in their own module (this one's size), part of the same vocabulary.
from gateway import vocabulary_platform as _platform  # noqa: E402 (it needs none of the enums above)

InterceptPolicy, CallbackKind, CallbackOutcome = _platform.InterceptPolicy, _platform.CallbackKind, \
    _platform.CallbackOutcome
EventType, CodeOver, EventTarget = _platform.EventType, _platform.CodeOver, _platform.EventTarget

# Carriers' failure classes, pictures and cancel reasons, kept in gateway/vocabulary_channels.py (this module's
# size) and named here as ever.
FailureClass, MediaState, MediaRefusal = _channels.FailureClass, _channels.MediaState, _channels.MediaRefusal
CancelReason = _channels.CancelReason

# Template sends' states and reasons (broadcasts, the outcome log) are in their own module too.
from gateway import vocabulary_broadcasts as _broadcasts  # noqa: E402

BroadcastState, RecipientOutcome, SkipReason = (_broadcasts.BroadcastState, _broadcasts.RecipientOutcome,
                                                _broadcasts.SkipReason)
TemplateOutcome = _broadcasts.TemplateOutcome

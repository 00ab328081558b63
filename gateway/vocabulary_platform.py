"""The platform's side of the vocabulary: callbacks (intercept, out of session) and events. Re-exported by
gateway/vocabulary.py: import them from there, like every other kind, status and reason."""

from __future__ import annotations

from enum import StrEnum


class InterceptPolicy(StrEnum):
    """What a community's intercepted text becomes when its intercept URL gives no useful answer (a timeout, a
    5xx, another status, an unreadable 2xx): relayed as if it had said yes (Twilio Proxy's rule), or held."""

    RELAY = "relay"
    HOLD = "hold"


class CallbackKind(StrEnum):
    """A POST to a community's own URL about one inbound text (platform_callbacks.kind)."""

    INTERCEPT = "intercept"
    OUT_OF_SESSION = "out_of_session"


class CallbackOutcome(StrEnum):
    """How a callback ended (platform_callbacks.outcome; gateway_platform_callbacks_total's outcome)."""

    RELAYED = "relayed"  # intercept: 2xx; out of session: relayed into the conversation the platform opened
    REWRITTEN = "rewritten"  # intercept: 2xx with a new body, relayed instead
    BLOCKED = "blocked"  # intercept: 403
    UNANSWERED_RELAYED = "unanswered_relayed"  # intercept: no useful answer, policy relay
    UNANSWERED_HELD = "unanswered_held"  # intercept: no useful answer, policy hold
    NOT_OPENED = "not_opened"  # out of session: 2xx, but no conversation opened for the sender
    GIVEN_UP = "given_up"  # out of session: no 2xx after every try


class EventType(StrEnum):
    """What an event reports (webhook_deliveries.event; the "type" of its body). Emitted by the SQL statement
    that makes the change (sql/queries/*.sql, through event_targets), so tests/test_events.py checks every
    type named there is one of these."""

    MESSAGE_RECEIVED = "message.received"
    MESSAGE_RELAYED = "message.relayed"
    MESSAGE_STATUS_CHANGED = "message.status_changed"
    MESSAGE_BLOCKED = "message.blocked"
    MESSAGE_HELD = "message.held"
    CONVERSATION_OPENED = "conversation.opened"
    CONVERSATION_CLOSED = "conversation.closed"
    CONVERSATION_EXPIRED = "conversation.expired"
    CONVERSATION_PARTICIPANT_ADDED = "conversation.participant_added"
    CONVERSATION_PARTICIPANT_REMOVED = "conversation.participant_removed"
    CONVERSATION_CLAIMED = "conversation.claimed"
    CONTACT_PREFERENCE_CHANGED = "contact.preference_changed"
    DND_SET = "dnd.set"
    DND_LIFTED = "dnd.lifted"
    COMMUNITY_WARNED = "community.warned"
    COMMUNITY_RESTRICTED = "community.restricted"
    TEMPLATE_APPROVED = "template.approved"
    TEMPLATE_REJECTED = "template.rejected"


class CodeOver(StrEnum):
    """How a code of one of the sender's conversations on a number is over for them (find_ended_code_for_sender.sql):
    the reply to a text starting with it says which (gateway/relay/rules.py ended_body)."""

    ENDED = "ended"  # the conversation is closed or expired
    LEFT = "left"  # it runs, but the sender left it (removed, or STOP from a group)


class EventTarget(StrEnum):
    """Whose URL and secret a delivery goes to (webhook_deliveries.target)."""

    COMMUNITY = "community"  # the community's event_url (or its older opt-out and alert URLs), its own secret
    GATEWAY = "gateway"  # the gateway-wide hooks.event_url, the gateway's secret

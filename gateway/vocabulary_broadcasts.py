"""The template sends' side of the vocabulary (issue 15 part B): broadcasts, their recipients' outcomes and skip
reasons, and the outcome log's words. Re-exported by gateway/vocabulary.py: import them from there, like every other
kind, status and reason."""

from __future__ import annotations

from enum import StrEnum


class BroadcastState(StrEnum):
    """A broadcast's life (broadcasts.state): waits for send_at, runs page by page, ends."""

    SCHEDULED = "scheduled"
    RUNNING = "running"
    COMPLETED = "completed"  # every recipient skipped or given its message
    CANCELED = "canceled"


class RecipientOutcome(StrEnum):
    """What became of one broadcast recipient (broadcast_recipients.outcome)."""

    PENDING = "pending"
    SKIPPED = "skipped"  # with a SkipReason, no message
    SENT = "sent"  # its message stored (and queued, held or blocked: the message's status says)


class SkipReason(StrEnum):
    """Why a broadcast recipient got no message (broadcast_recipients.skip_reason; README "Broadcasts")."""

    NOT_OPTED_IN = "not_opted_in"  # marketing: the governing preference is not opted_in (a phone with no contact too)
    OPTED_OUT = "opted_out"
    NOT_MOBILE = "not_mobile"  # a landline, toll-free... or unknown where the community refuses unknown line types
    INVALID_NUMBER = "invalid_number"
    COUNTRY_NOT_SUPPORTED = "country_not_supported"
    MISSING_FIELDS = "missing_fields"  # the template names a field neither the contact nor the data gives
    MESSAGE_TOO_LONG = "message_too_long"  # rendered, over the carrier's 1,600 characters
    NO_NUMBER = "no_number"  # the community has no number that may send the template's category
    CANCELED = "canceled"  # the broadcast was canceled before this recipient's turn


class TemplateOutcome(StrEnum):
    """A template send's outcome in the words of the outcome log (README "Triggered sends"), from its message's
    status and reason (gateway/broadcasting/rules.py outcome)."""

    PROCESSING = "processing"  # queued, or being handed to the carrier
    COMPLETED = "completed"  # the carrier took it
    DELIVERED = "delivered"  # the carrier confirmed delivery (or read)
    RATE_LIMITED = "rate_limited"  # held at the daily ramp-up or the monthly limit (sent after the reset / review)
    HELD = "held"  # held for another reason (restriction, quiet hours, carrier not served...)
    BLOCKED = "blocked"  # never sent: opted out, DND, test mode's allow list
    FAILED = "failed"  # failed or undelivered
    CANCELED = "canceled"

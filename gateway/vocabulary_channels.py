"""The vocabulary of what crosses to the carriers and back: what a carrier's error means, pictures
(message_media.state, .refusal), and the gateway's own cancels (messages.status_reason with status canceled). Part
of gateway/vocabulary.py, which names them (imported from there as ever), kept here for that module's size;
tests/test_vocabulary.py checks them as the rest.
"""

from __future__ import annotations

from enum import StrEnum


class FailureClass(StrEnum):
    """What a carrier's error means, whatever the carrier: do-not-disturb and rate monitoring act on these. Each
    carrier maps its own codes onto them (gateway/carriers/); see Failure for permanence."""

    OPTED_OUT = "opted_out"  # the recipient replied STOP to the carrier, or is on its block list
    UNREACHABLE = "unreachable"  # handset off, out of coverage, number not in service
    LANDLINE = "landline"  # the number cannot receive SMS
    FILTERED = "filtered"  # the carrier's filter refused the content or the sender
    RATE_LIMITED = "rate_limited"  # too fast: the carrier asks us to slow down
    INVALID_NUMBER = "invalid_number"
    # WhatsApp: free text outside the 24-hour customer-service window; the text is held and the community's
    # template sent instead (gateway/messaging/whatsapp.py), never a failure of the recipient.
    OUTSIDE_WINDOW = "outside_window"
    OTHER = "other"


class MediaState(StrEnum):
    """Where an inbound attachment is (message_media.state)."""

    PENDING = "pending"  # to fetch from the carrier (or being fetched: its due_at is the lease)
    STORED = "stored"  # kept here, served at signed URLs
    REFUSED = "refused"  # over the limits (type or size): never stored
    FAILED = "failed"  # the carrier never gave it, after every try
    DELETED = "deleted"  # its content removed by retention (media.retention_days after its conversation ended)


class MediaRefusal(StrEnum):
    """Why an attachment was not relayed (message_media.refusal); named in the notice to its sender."""

    TYPE_NOT_ALLOWED = "type_not_allowed"
    TOO_LARGE = "too_large"  # over media.max_file_bytes
    MESSAGE_TOO_LARGE = "message_too_large"  # the message's pictures together over media.max_message_bytes
    FETCH_FAILED = "fetch_failed"


class CancelReason(StrEnum):
    """Why the gateway itself canceled a message (messages.status_reason with status canceled; a held message
    canceled through the held API keeps its HoldReason). tests/test_vocabulary.py checks the SQL writes no other."""

    MEDIA_REFUSED = "media_refused"  # a text that was only pictures, none of them kept: nothing left to relay
    WHATSAPP_TEMPLATE_UNNEEDED = "whatsapp_template_unneeded"  # the participant wrote (or is on SMS) meanwhile
    PARTICIPANT_LEFT = "participant_left"  # its recipient left the conversation before it went
    CONVERSATION_CLOSED = "conversation_closed"  # held for its pictures or a WhatsApp answer when it closed
    CONVERSATION_EXPIRED = "conversation_expired"  # the same, when it expired
    NUMBER_REMOVED = "number_removed"  # its number left the community (NumberRemoval)
    ERASED = "erased"  # its recipient was erased from the community (Erased; README "Retention and erasure")
    BROADCAST_CANCELED = "broadcast_canceled"  # queued or held when its broadcast was canceled (README "Broadcasts")

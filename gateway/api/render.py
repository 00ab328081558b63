"""How the API shows things: rows to JSON objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.storage.conversations import Conversation
from gateway.storage.messages import Message, StoredOutbound
from gateway.platform.communities import Overview
from gateway.storage.contacts import Contact
from gateway.storage.verifications import Verification
from gateway.vocabulary import VerificationStatus

MESSAGE_FIELDS = ("id", "conversation_id", "community_id", "direction", "kind", "status", "status_reason",
                  "carrier_sid", "error_code", "error_message", "attempts", "body", "segments")
CONTACT_FIELDS = ("phone", "preference", "preference_changed_at", "preference_keyword", "preference_source", "dnd",
                  "dnd_reason", "dnd_at", "first_inbound_at")


def value(item: Any) -> Any:
    if isinstance(item, datetime):
        return item.isoformat()
    if isinstance(item, dict):
        return {key: value(inner) for key, inner in item.items()}
    return item


def community(view: Overview, default_carrier: str) -> dict:
    """A community; carriers: each of its numbers -> the carrier its texts go through."""
    c = view.community
    return {
        "id": c.id, "name": c.name, "mode": c.mode, "inactivity_days": c.inactivity_days, "countries": c.countries,
        "default_region": c.default_region, "require_verification": c.require_verification,
        "unknown_line_type": c.unknown_line_type, "sender_name": c.sender_name,
        "sender_id_template": c.sender_id_template, "help_text": c.help_text,
        "opt_out_webhook_url": c.opt_out_webhook_url, "alert_webhook_url": c.alert_webhook_url,
        "event_url": c.event_url, "event_types": c.event_types,
        "timezone": c.timezone, "created_at": value(c.created_at), "updated_at": value(c.updated_at),
        "numbers": c.numbers, "open_conversations": c.open_conversations,
        "carriers": {phone: carrier or default_carrier for phone, carrier in zip(c.numbers, c.number_carriers)},
        "daily": {"level": c.daily_level, "limit": view.daily_limit, "used": view.used_today,
                  "resets_at": value(view.resets_at), "levels": view.daily_levels, "ceiling": view.daily_ceiling},
        "monthly": {"limit": c.monthly_limit, "used": view.used_month},
        "compliance": {"state": c.compliance_state, "changed_at": value(c.compliance_changed_at),
                       "error_rate": c.error_rate, "opt_out_rate": c.opt_out_rate,
                       "checked_at": value(c.rates_checked_at)},
    }


def contact(row: Contact) -> dict:
    return {name: value(getattr(row, name)) for name in CONTACT_FIELDS}


def verification(row: Verification) -> dict:
    """A verification: a pending one past its expiry shows as expired."""
    status = VerificationStatus.EXPIRED if row.status == VerificationStatus.PENDING and row.is_expired else row.status
    return {"id": row.id, "community_id": row.community_id, "phone": row.phone, "status": status,
            "expires_at": value(row.expires_at), "created_at": value(row.created_at),
            "message": {"id": row.message_id, "status": row.message_status, "status_reason": row.message_reason}}


def conversation(found: Conversation) -> dict:
    return {
        "id": found.id, "community_id": found.community_id, "proxy_number": found.proxy_number,
        "code": found.code, "status": found.status,
        "prospect": {"phone": found.prospect_phone, "name": found.prospect_name,
                     "preference": found.prospect_preference},
        "advocate": {"phone": found.advocate_phone, "name": found.advocate_name,
                     "preference": found.advocate_preference},
        "created_at": value(found.created_at), "last_activity_at": value(found.last_activity_at),
        "closed_at": value(found.closed_at), "closed_reason": found.closed_reason,
    }


def message(found: Message) -> dict:
    out = {name: getattr(found, name) for name in MESSAGE_FIELDS}
    out.update({"from": found.from_number, "to": found.to_number, "media_urls": list(found.media_urls),
                "created_at": value(found.created_at), "updated_at": value(found.updated_at)})
    return out


def delivery(stored: StoredOutbound) -> dict:
    """The short form of a message an API call created: did it go to the queue, or was it blocked?"""
    return stored._asdict()

"""How the API shows things: rows to JSON objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from gateway.platform.communities import Overview
from gateway.storage.contacts import Contact
from gateway.storage.held import HeldMessage
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


def community(view: Overview) -> dict:
    c = view.community
    return {
        "id": c.id, "name": c.name, "mode": c.mode, "inactivity_days": c.inactivity_days, "countries": c.countries,
        "default_region": c.default_region, "require_verification": c.require_verification,
        "unknown_line_type": c.unknown_line_type, "sender_name": c.sender_name,
        "sender_id_template": c.sender_id_template, "help_text": c.help_text,
        "opt_out_webhook_url": c.opt_out_webhook_url, "alert_webhook_url": c.alert_webhook_url,
        "timezone": c.timezone, "created_at": value(c.created_at), "updated_at": value(c.updated_at),
        "numbers": c.numbers, "open_conversations": c.open_conversations,
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


def conversation(row: Mapping[str, Any]) -> dict:
    return {
        "id": row["id"], "community_id": row["community_id"], "proxy_number": row["proxy_number"],
        "code": row["code"], "status": row["status"],
        "prospect": {"phone": row["prospect_phone"], "name": row["prospect_name"],
                     "preference": row["prospect_preference"]},
        "advocate": {"phone": row["advocate_phone"], "name": row["advocate_name"],
                     "preference": row["advocate_preference"]},
        "created_at": value(row["created_at"]), "last_activity_at": value(row["last_activity_at"]),
        "closed_at": value(row["closed_at"]), "closed_reason": row["closed_reason"],
    }


def message(row: HeldMessage | Mapping[str, Any]) -> dict:
    """A message; from a typed row, or from a record (until the messaging storage returns typed rows)."""
    field = row.__getitem__ if not isinstance(row, HeldMessage) else lambda name: getattr(row, name)
    out = {name: field(name) for name in MESSAGE_FIELDS}
    out.update({"from": field("from_number"), "to": field("to_number"), "media_urls": list(field("media_urls")),
                "created_at": value(field("created_at")), "updated_at": value(field("updated_at"))})
    return out


def delivery(row: Mapping[str, Any]) -> dict:
    """The short form of a message an API call created: did it go to the queue, or was it blocked?"""
    return {"id": row["id"], "status": row["status"], "status_reason": row["status_reason"],
            "segments": row["segments"]}

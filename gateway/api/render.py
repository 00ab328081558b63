"""How the API shows things: rows to JSON objects."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any, Mapping

from gateway.storage.conversations import Conversation
from gateway.storage.messages import Message, StoredOutbound

MESSAGE_FIELDS = ("id", "conversation_id", "community_id", "direction", "kind", "status", "status_reason",
                  "carrier_sid", "error_code", "error_message", "attempts", "body", "segments")


def value(item: Any) -> Any:
    if isinstance(item, datetime):
        return item.isoformat()
    if isinstance(item, dict):
        return {key: value(inner) for key, inner in item.items()}
    return item


def community(row: Mapping[str, Any]) -> dict:
    return {key: value(item) for key, item in row.items() if key not in ("daily_level", "daily_limit_levels",
                                                                          "daily_limit_ceiling", "monthly_limit")}


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


def message(found: Message | Mapping[str, Any]) -> dict:
    """A message; a row of `SELECT * FROM messages` is taken too (api/communities.py's held messages, until
    their storage returns Message)."""
    if not isinstance(found, Message):
        found = Message.of(found)
    out = {name: getattr(found, name) for name in MESSAGE_FIELDS}
    out.update({"from": found.from_number, "to": found.to_number, "media_urls": list(found.media_urls),
                "created_at": value(found.created_at), "updated_at": value(found.updated_at)})
    return out


def delivery(stored: StoredOutbound) -> dict:
    """The short form of a message an API call created: did it go to the queue, or was it blocked?"""
    return asdict(stored)

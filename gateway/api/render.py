"""How the API shows things: rows to JSON objects."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

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


def message(row: Mapping[str, Any]) -> dict:
    out = {name: row[name] for name in MESSAGE_FIELDS}
    out.update({"from": row["from_number"], "to": row["to_number"], "media_urls": list(row["media_urls"]),
                "created_at": value(row["created_at"]), "updated_at": value(row["updated_at"])})
    return out


def delivery(row: Mapping[str, Any]) -> dict:
    """The short form of a message an API call created: did it go to the queue, or was it blocked?"""
    return {"id": row["id"], "status": row["status"], "status_reason": row["status_reason"],
            "segments": row["segments"]}

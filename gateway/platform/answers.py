"""What a community's intercept or out-of-session URL answered, and what it is sent (signed as its events are:
gateway/platform/events.py secrets_for)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.storage.messages import Message


@dataclass(frozen=True)
class Answer:
    """What the community's URL said: status None when it did not answer (error names why)."""

    status: int | None
    body: bytes = b""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def transient(self) -> bool:
        """No answer, or a 5xx: worth another try."""
        return self.status is None or self.status >= 500

    @property
    def result(self) -> str:
        """For metrics and logs: the status, or timeout / error."""
        return str(self.status) if self.status is not None else (self.error or "error")


def message_payload(message: Message) -> dict[str, Any]:
    return {"id": message.id, "from": message.from_number, "to": message.to_number, "body": message.body,
            "media_urls": list(message.media_urls), "received_at": message.created_at.isoformat()}

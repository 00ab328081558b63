"""What a community's intercept or out-of-session URL answered, what it is sent, and how it is signed."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from standardwebhooks import Webhook

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


def community_secret(signing_key: bytes, community_id: int) -> str:
    """The community's Standard Webhooks secret ("whsec_" + base64 of 32 bytes), the one its events are signed
    with too: an HMAC of the gateway's key (hooks.secret), so it changes only when GATEWAY_WEBHOOK_SECRET does.
    The same derivation as the events' (gateway/platform/events.py secret_for, on the events branch): one secret
    per community for everything the gateway posts to it. Merging: keep one of the two."""
    label = f"events:community:{community_id}".encode()
    return "whsec_" + base64.b64encode(hmac.new(signing_key, label, hashlib.sha256).digest()).decode()


def signer(signing_key: bytes, community_id: int) -> Webhook:
    """Signs what goes to one community (Standard Webhooks, https://www.standardwebhooks.com)."""
    return Webhook(community_secret(signing_key, community_id))


def message_payload(message: Message) -> dict[str, Any]:
    return {"id": message.id, "from": message.from_number, "to": message.to_number, "body": message.body,
            "media_urls": list(message.media_urls), "received_at": message.created_at.isoformat()}

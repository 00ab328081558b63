"""The answers of the event-secret endpoints (gateway/api/event_secrets.py): msgspec Structs that both encode the
answers and give /openapi.json their schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

Secret = Annotated[str, Meta(pattern="^whsec_[A-Za-z0-9+/]+={0,2}$",
                             description="a Standard Webhooks secret: whsec_ and base64 of 32 bytes",
                             examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])]


class EventSecret(Struct):
    """A community's event secret: what its events (and intercept and out-of-session posts) are signed with."""

    secret: Secret
    version: Annotated[int, Meta(ge=0, description="goes up by one at each rotation (0: never rotated)")]
    previous_valid_until: Annotated[datetime | None, Meta(
        description="until then the previous version's secret signs each post too (null: it no longer does)")]


class GatewayEventSecret(Struct):
    """The gateway-wide event URL (hooks.event_url) and the secret its events are signed with."""

    url: Annotated[str | None, Meta(description="null when no gateway-wide URL is set")]
    secret: Secret

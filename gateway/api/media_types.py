"""The API's types for pictures (issue 14): an attachment as GET /v1/messages/{id} and
GET /v1/messages/{id}/media show it."""

from __future__ import annotations

from msgspec import Struct

from gateway.vocabulary import MediaRefusal, MediaState


class Attachment(Struct):
    """One attachment of an inbound message (or carried by its relayed copy): url is a signed, expiring URL to
    its bytes while they are kept (state stored), else null; sha256 the hex SHA-256 of the bytes kept."""

    id: int
    position: int
    state: MediaState
    refusal: MediaRefusal | None
    content_type: str | None
    size: int | None
    sha256: str | None
    url: str | None


class Attachments(Struct):
    media: list[Attachment]

"""The API's types for pictures (issue 14): an attachment as GET /v1/messages/{id} and
GET /v1/messages/{id}/media show it."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

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


class Upload(Struct, forbid_unknown_fields=True):
    """A picture for a message the platform will send: its bytes in base64 (the whole request within
    server.max_body_bytes; the picture within media.max_file_bytes and of a type in media.content_types)."""

    community_id: Annotated[int, Meta(ge=0, lt=2 ** 62)]
    content_type: Annotated[str, Meta(min_length=3, max_length=100, pattern=r"^[A-Za-z0-9.+-]+/[A-Za-z0-9.+-]+$",
                                      examples=["image/jpeg"])]
    data: Annotated[str, Meta(min_length=1, description="the bytes, base64")]

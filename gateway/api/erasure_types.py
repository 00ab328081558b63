"""The types of erasures (gateway/api/erasures.py; README "Retention and erasure"), in the style of
gateway/api/types.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

from gateway.api.list_types import QueryId, QueryPhone
from gateway.api.types import Limit, Phone, Strict


class NewErasure(Strict, kw_only=True):
    """The phone whose data the community's records must lose."""
    phone: Phone


class ErasureQuery(Strict):
    phone: QueryPhone = ""  # only the erasures of this phone (found by its keyed hash)
    before: QueryId | None = None  # the id of the last erasure of the page before
    limit: Limit = 100


class Erasure(Struct):
    id: int
    community_id: int
    requested_by: Annotated[str, Meta(description="the name of the API token that asked")]
    counts: Annotated[dict[str, int], Meta(description="rows removed, redacted or kept (for an opt-out), by kind")]
    created_at: datetime


class Erasures(Struct):
    erasures: list[Erasure]

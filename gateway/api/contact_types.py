"""The API's types for contacts with data and their CSV import (README "Contacts"), in the style of
gateway/api/types.py. Merge field names and values, tags and the name are checked by gateway/relay/contact_data.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from gateway.api.types import Contact, Limit, Strict
from gateway.vocabulary import Preference

Name = Annotated[str, Meta(max_length=100, description="the contact's name; \"\" removes it")]
Fields = Annotated[dict[str, str], Meta(description="merge fields: names as templates name them (a lower-case letter, "
                                                    "then lower-case letters, digits or _; at most 64), values texts "
                                                    "of at most 500 characters on one line; at most 50",
                                        examples=[{"first_name": "Ana", "reward_amount": "$20"}])]
Tags = Annotated[list[str], Meta(max_length=50, description="each 1 to 40 characters on one line, without ';'",
                                 examples=[["vip", "spring-2026"]])]
# The preference the platform captured itself (its sign-up form's consent). An opt-in over the contact's own STOP is
# refused (409 contact_opted_out): only their START opts them back in.
SetPreference = Literal["opted_in", "opted_out"]


class ContactData(Strict, kw_only=True):
    """PUT: the contact as a whole (a name or fields or tags left out are removed; the preference left out stays)."""
    name: Name | None = None
    fields: Fields = {}
    tags: Tags = []
    preference: SetPreference | None = None
    marketing_preference: Annotated[SetPreference | None, Meta(
        description="marketing sends' consent where the community keeps marketing numbers apart (left out: stays)")] \
        = None


class ContactChange(Strict, kw_only=True):
    """PATCH: only what is named changes; fields merge (a field set to null is removed); tags are replaced."""
    name: Name | None | UnsetType = UNSET
    fields: Annotated[dict[str, str | None], Meta(description="fields to set; null removes one")] | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET
    preference: SetPreference | UnsetType = UNSET
    marketing_preference: SetPreference | UnsetType = UNSET


class ContactWithData(Contact, kw_only=True):
    name: str | None
    fields: dict[str, str]
    tags: list[str]
    created_at: datetime | None
    updated_at: datetime | None


class ContactList(Struct):
    contacts: list[ContactWithData]


class ContactsQuery(Strict):
    preference: Preference | None = None
    tag: Annotated[str, Meta(max_length=40, description="only contacts with this tag")] | None = None
    after: Annotated[str, Meta(max_length=100, description="a phone: only contacts after it")] = ""
    limit: Limit = 100
    fields: Annotated[str, Meta(max_length=400, description="CSV only: the merge field columns, comma-separated, "
                                                             "in order (default: every field the contacts have)",
                                examples=["first_name,reward_amount"])] | None = None


class Rejection(Struct):
    row: int  # as a spreadsheet numbers it: the header is row 1
    reason: str


class ImportResult(Struct):
    """What an import did: every data row is created, updated, unchanged or rejected (the first 100 listed)."""
    rows: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    rejections: list[Rejection]

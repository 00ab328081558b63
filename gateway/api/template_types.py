"""The API's types for message templates (README "Templates"), in the style of gateway/api/types.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from gateway.api.types import Limit, Phone, Strict, text
from gateway.vocabulary import TemplateCategory, TemplateState

Category = Literal["transactional", "marketing"]  # TemplateCategory
TemplateBody = text(1600, multiline=True, description="the text, with merge fields such as {first_name}",
                    examples=["Hi {first_name}, your {reward_amount} reward is approved! {referral_link}"])
TemplateName = text(100, description="unique in the community")
# Sample or real values of merge fields, by name (a lower-case letter, then lower-case letters, digits or _).
Data = Annotated[dict[str, Annotated[str, Meta(max_length=500)]],
                 Meta(max_length=50, description="merge field values by name", examples=[{"first_name": "Ana"}])]


class NewTemplate(Strict, kw_only=True):
    name: TemplateName
    category: Category
    body: TemplateBody


class TemplateChange(Strict, kw_only=True):
    """Only what is named changes; a new body or category takes a submitted, approved or rejected template back to
    draft (it is reviewed again). null is refused (422 invalid_field naming it): a template always has each."""
    name: TemplateName | UnsetType = UNSET
    category: Category | UnsetType = UNSET
    body: TemplateBody | UnsetType = UNSET


Note = text(500, multiline=True, description="the reviewer's reason (shown as review_note)")


class Review(Strict):
    note: Note | None = None


class PreviewData(Strict):
    data: Data = {}


class UnsavedPreview(Strict, kw_only=True):
    body: TemplateBody
    data: Data = {}


class TestSend(Strict, kw_only=True):
    to: Phone
    data: Data = {}


class TemplatesQuery(Strict):
    state: TemplateState | None = None
    after: Annotated[int, Meta(ge=0, le=10 ** 18, description="a template id: only templates after it")] = 0
    limit: Limit = 100


class Template(Struct):
    id: int
    community_id: int
    name: str
    category: TemplateCategory
    body: str
    fields: list[str]  # the merge fields the body names, in order
    state: TemplateState
    review_note: str | None
    reviewed_by: str | None  # the name of the API token that approved or rejected it
    reviewed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class Templates(Struct):
    templates: list[Template]


class Character(Struct):
    character: str
    code_point: str  # "U+2019"


class Billed(Struct):
    """A text as the carrier bills it."""
    text: str
    characters: int  # UTF-16 code units, as carriers count
    segments: int
    encoding: Literal["GSM-7", "UCS-2"]
    non_gsm_characters: list[Character]  # what makes it UCS-2


class Preview(Struct):
    text: str  # rendered; a field without a value is left as its placeholder
    characters: int
    segments: int
    encoding: Literal["GSM-7", "UCS-2"]
    non_gsm_characters: list[Character]
    fields: list[str]
    missing: list[str]
    warnings: list[str]
    first_text: Billed  # as the first text to a phone that never wrote to the community: with the identification

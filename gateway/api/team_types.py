"""The API's types for teams and number assignments (dedicated numbers, team inboxes; README "Dedicated numbers and
team inboxes"), in the style of gateway/api/types.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

from gateway.api.types import Id, Person, Strict, text
from gateway.vocabulary import TeamStyle

Style = Annotated[Literal["everyone", "claim"], Meta(
    description="how its inbox conversations are shared: everyone sees everything, or the first member to reply "
                "takes the conversation (claim)")]  # TeamStyle


class NewTeam(Strict, kw_only=True):
    """A team of the community: a named set of member phones; a number assigned to it is its inbox."""
    name: text(100)
    style: Style = "everyone"
    members: Annotated[list[Person], Meta(min_length=1, max_length=100,
                                          description="1 to groups.max_members members, each phone once")]


class TeamChange(Strict, kw_only=True):
    """Only what is named changes; the style applies to inbox conversations opened after the change."""
    name: text(100) | None = None
    style: Style | None = None


class Member(Struct):
    phone: str
    name: str


class Team(Struct):
    id: int
    community_id: int
    name: str
    style: TeamStyle
    members: list[Member]  # in the order added
    numbers: list[str]  # the community numbers assigned to it (its inbox)
    created_at: datetime
    updated_at: datetime


class Teams(Struct):
    teams: list[Team]


class Assignment(Strict, kw_only=True):
    """The whole assignment of a number: a member (a dedicated number), a team (its inbox), or neither (both absent
    or null). At most one of the two."""
    member: Person | None = None
    team_id: Id | None = None
    # Only transactional or only marketing texts (README "Separate numbers for marketing"); not with a member or team.
    category: Literal["transactional", "marketing"] | None = None


class AssignedNumber(Struct):
    phone: str
    member: Member | None  # a dedicated number's member
    team_id: int | None
    category: Literal["transactional", "marketing"] | None = None  # null: every kind of text


class AssignedNumbers(Struct):
    numbers: list[AssignedNumber]

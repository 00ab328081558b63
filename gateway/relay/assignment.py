"""Dedicated numbers and team inboxes: where a stranger's text goes, and which numbers a new conversation may use.

Pure functions over plain data (no I/O), like gateway/relay/rules.py; tests/test_assignment_rules.py has their
tables. README "Dedicated numbers and team inboxes".

A community number is assigned to one member (a dedicated number: Spoke's DID), to a team (its inbox), or to
nothing. A text from someone with no open conversation on the number (a stranger) goes, in this order, to:
1. the number's member: a masked pair opens (the stranger the prospect, the member the advocate);
2. the number's team: a one_to_group conversation opens with the team's members and style;
3. the community's out-of-session URL, when it has one;
4. the auto-reply (relay.unrouted_reply).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence


@dataclass(frozen=True)
class Member:
    phone: str  # E.164
    name: str


@dataclass(frozen=True)
class Assignment:
    """The number a stranger texted, as find_number_assignment.sql reads it."""

    community_id: int
    member: Member | None = None  # a dedicated number's member
    team_id: int | None = None
    team_style: str = ""  # a vocabulary.TeamStyle, when team_id is set
    team_members: tuple[Member, ...] = ()  # in the order they were added
    out_of_session: bool = False  # the community has an out-of-session URL
    # Of the member and the team's members, those who take no text now (opted out, on DND, off the allow list).
    unreachable: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ToMember:
    """Open a pair with the dedicated number's member."""

    member: Member


@dataclass(frozen=True)
class ToTeam:
    """Open a one_to_group conversation with these members of the team."""

    team_id: int
    style: str
    members: tuple[Member, ...]


@dataclass(frozen=True)
class OutOfSession:
    """Tell the community's out-of-session URL (gateway/platform/out_of_session.py)."""


@dataclass(frozen=True)
class AutoReply:
    """Store the text and send relay.unrouted_reply (at most once per number, sender and UTC day)."""


StrangerRoute = ToMember | ToTeam | OutOfSession | AutoReply


def route_stranger(assignment: Assignment | None, sender: str, can_answer: bool) -> StrangerRoute:
    """Where a text from someone with no open conversation on the number goes (the module's order).

    assignment None: a number that is nobody's. A sender who cannot be answered (a short code, an alphanumeric
    sender ID: can_answer False) opens nothing, as nobody could reply to it. A member texting their own dedicated
    number, or a team member the team's, opens nothing either (a conversation with oneself), nor does a member who
    takes no text now (opted out, on DND), or a team none of whose members does: the next rule applies, so the
    stranger's text is not stored into a conversation that nobody gets.
    """
    if assignment is None:
        return AutoReply()
    member = assignment.member
    if can_answer and member is not None and member.phone != sender and member.phone not in assignment.unreachable:
        return ToMember(member)
    phones = {m.phone for m in assignment.team_members}
    reachable = phones - assignment.unreachable
    if can_answer and assignment.team_id is not None and reachable and sender not in phones:
        return ToTeam(assignment.team_id, assignment.team_style, assignment.team_members)
    return OutOfSession() if assignment.out_of_session else AutoReply()


# --- Which numbers a new conversation may get --------------------------------------------------------------------

@dataclass(frozen=True)
class NumberUse:
    """One of a community's numbers with its assignment (pool_usage.sql)."""

    phone: str
    member: str | None = None  # a dedicated number's member phone
    team_id: int | None = None
    category: str | None = None  # 'transactional' or 'marketing' (README "Separate numbers for marketing")


@dataclass(frozen=True)
class Placement:
    """What a new conversation asks of its number. named: this number (checked with named_refusal first); team_id:
    a team's conversation (the team's numbers, else unassigned ones); advocate: a pair's member (their dedicated
    numbers, else unassigned ones). Nothing asked: an unassigned number. team_members: the team's member phones as
    read before the conversation opens (one no longer in the team by then is left out of it)."""

    named: str | None = None
    team_id: int | None = None
    advocate: str | None = None
    team_members: tuple[str, ...] = ()


def eligible(numbers: Iterable[NumberUse], placement: Placement) -> list[str]:
    """The numbers relay.choose_number may pick from: never one dedicated to someone else or assigned to a team,
    unless asked for, and never one with a category while an uncategorized one is free; without one, a transactional
    number may carry conversations and codes, a marketing number never. Empty: none fits (the caller refuses:
    no_unassigned_number)."""
    numbers = list(numbers)
    if placement.named is not None:
        return [n.phone for n in numbers if n.phone == placement.named]
    unassigned = [n for n in numbers if n.member is None and n.team_id is None]
    free = ([n.phone for n in unassigned if n.category is None]
            or [n.phone for n in unassigned if n.category == "transactional"])
    if placement.team_id is not None:
        return [n.phone for n in numbers if n.team_id == placement.team_id] or free
    if placement.advocate is not None:
        return [n.phone for n in numbers if n.member == placement.advocate] or free
    return free


def named_refusal(number: NumberUse | None, advocate: str, dedicated_shared: bool) -> str | None:
    """Why a member (the advocate) may not start a pair from the number they named, as an error code; None: they
    may. A number dedicated to someone else needs the community's dedicated_numbers_shared; a marketing number sends
    marketing only."""
    if number is None:
        return "number_not_in_community"
    if number.category == "marketing":
        return "number_marketing"
    if number.member is not None and number.member != advocate and not dedicated_shared:
        return "number_dedicated"
    return None


def team_cast(members: Sequence[Member], starter: Member | None, most: int) -> list[Member] | None:
    """The members of a team's conversation: the team's, with the member who started it (from a team's number)
    first when they are not in the team; None when that makes more than `most` (groups.max_members)."""
    cast = list(members)
    if starter is not None and starter.phone not in {m.phone for m in cast}:
        cast.insert(0, starter)
    return cast if len(cast) <= most else None

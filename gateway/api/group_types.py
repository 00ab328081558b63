"""The API's types for conversations of several people (group texts, one-to-group conversations, members), in the
style of gateway/api/types.py (which holds the answer's Participant, as every conversation shows it)."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, Meta, UnsetType

from gateway.api.types import Body, Conversation, Delivery, Id, Message, Person, Phone, Strict, text
from gateway.relay.fanout import GROUP_MAX, GROUP_MIN


class NewGroup(Strict):
    """A group text: every text from one participant goes to all the others, labelled with the sender's name."""
    community_id: Id
    participants: Annotated[list[Person], Meta(min_length=GROUP_MIN, max_length=GROUP_MAX,
                                               description="3 to 10 outside participants, each phone once")]
    message: Annotated[Body, Meta(description="the platform's words in everyone's first text")]


class Customer(Strict):
    phone: Phone
    name: text(60) | None = None  # absent: members see the masked number (+1415***2671)


class NewTeamConversation(Strict, kw_only=True):
    """A one-to-group conversation: one customer and a team of members (1 to groups.max_members), given as
    `members` or as a team (`team_id`: its members, its style unless `style` is given, its number), not both."""
    community_id: Id
    customer: Customer
    members: Annotated[list[Person], Meta(min_length=1, max_length=100)] | None = None
    team_id: Id | None = None
    style: Annotated[Literal["everyone", "claim"] | None, Meta(
        description="everyone (the default): every member sees everything; claim: the first member to reply takes "
                    "it, the others are told who took it and get nothing more")] = None  # TeamStyle
    message: Annotated[Body, Meta(description="the customer's first text, as members get it")]


class StartedGroup(Conversation, kw_only=True):
    notifications: list[Delivery]  # each participant's (a group) or member's (one-to-group) first text


class NewMember(Strict):
    phone: Phone
    name: text(60)


class WrittenMessage(Message, kw_only=True):
    """POST /v1/conversations/{id}/messages: the message texted (in a pair, the only one, with no `copies`); in a
    group or one-to-group conversation the first copy, and `copies` every copy stored, in order (one per recipient
    and part; each queued or blocked on its own: opt-out, DND, test mode)."""
    copies: list[Message] | UnsetType = UNSET

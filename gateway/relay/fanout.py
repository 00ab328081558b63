"""Conversations of several people: each participant's route entry, who gets a copy of a text, and its label.

Pure functions over plain data (no I/O), like gateway/relay/rules.py; tests/test_fanout_rules.py has their tables.

Labels, so a recipient knows who wrote a copy (README "Group texts", "One-to-group conversations"):
- group: every copy is "Name: text".
- one_to_group: the customer's text reaches each member as "Customer: text"; a member's reply reaches the
  customer as is (the customer talks to "the team" on one number) and each other member as
  "Member to Customer: text", so the team sees who answered whom.
- pair: no label (the text as is), as before.
When the recipient has several open conversations on the number, the code goes first, as for pairs:
"#K3 Name: text" (a pair's copy then shows the sender's name).
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from gateway.relay import rules
from gateway.relay.rules import Recipient, RouteEntry
from gateway.vocabulary import ConversationShape, ParticipantRole

GROUP_MAX = 10  # most outside participants of a group text
GROUP_MIN = 3  # fewest to open one


def entry_for(conversation_id: int, code: str, shape: str, me: Recipient, others: Sequence[Recipient]) -> RouteEntry:
    """The conversation as the participant `me` sees it, the others being every other active participant."""
    if shape == ConversationShape.PAIR:
        [other] = others
        return RouteEntry(conversation_id, other.phone, other.name, code, me.name)
    first = others[0].phone if others else ""
    return RouteEntry(conversation_id, first, ", ".join(o.name for o in others), code, me.name, shape, me.role,
                      tuple(others))


def entries_of(conversation_id: int, code: str, shape: str,
               people: Sequence[Recipient]) -> list[tuple[str, RouteEntry]]:
    """(phone, the entry that phone sees) for each active participant (in a pair, the prospect first)."""
    return [(me.phone, entry_for(conversation_id, code, shape, me, [p for p in people if p.phone != me.phone]))
            for me in people]


def others(entry: RouteEntry) -> tuple[Recipient, ...]:
    """Who gets a copy of a text from the sender of entry: the other party of a pair, or every other one."""
    return entry.recipients or (Recipient(entry.recipient, entry.recipient_name, ""),)


def label(entry: RouteEntry, to: Recipient) -> str | None:
    """The words before a copy's text that say who wrote it; None: the text as is."""
    if entry.shape == ConversationShape.GROUP:
        return entry.sender_name
    if entry.shape != ConversationShape.ONE_TO_GROUP:
        return None
    if entry.sender_role == ParticipantRole.CUSTOMER:
        return entry.sender_name
    if to.role == ParticipantRole.CUSTOMER:
        return None
    customer = next((r.name for r in entry.recipients if r.role == ParticipantRole.CUSTOMER), None)
    return f"{entry.sender_name} to {customer}" if customer else entry.sender_name


def copies(entry: RouteEntry, body: str, open_counts: Mapping[str, int],
           identification: tuple[int, int]) -> list[tuple[str, list[str]]]:
    """(recipient phone, the parts that recipient gets) for each recipient of a text from the sender of entry;
    open_counts: each recipient's open conversations on the number (codes are shown when more than one)."""
    return [(to.phone, rules.relayed_parts(body, code=entry.code, sender_name=entry.sender_name,
                                           recipient_open=open_counts.get(to.phone, 1),
                                           identification=identification, label=label(entry, to)))
            for to in others(entry)]


def longest_label(entry: RouteEntry) -> str | None:
    """The longest label any recipient's copy carries: the room a text has in one part is the smallest."""
    labels = [label(entry, to) for to in others(entry)]
    return max(labels, key=lambda text: len(text or ""), default=None)


def intro_body(message: str, *, community_name: str, names: Iterable[str], code: str, recipient_open: int) -> str:
    """A group participant's first text: who else is in the group, and the platform's message."""
    listed = ", ".join(names)
    text = f"{community_name} group text with {listed}: {message} (Replies go to everyone in the group.)"
    return f"#{code} {text}" if recipient_open > 1 else text


def added_body(*, community_name: str, names: Iterable[str], code: str, recipient_open: int) -> str:
    """The text a member added to a running conversation gets."""
    text = f"{community_name}: you were added to a conversation with {', '.join(names)}. Reply to this number to text them."
    return f"#{code} {text}" if recipient_open > 1 else text


LEFT_BODY = "Someone left the group."


def left_body(*, code: str, recipient_open: int) -> str:
    """What the others are told when a participant leaves with STOP (never who: that would tell their number)."""
    return f"#{code} {LEFT_BODY}" if recipient_open > 1 else LEFT_BODY

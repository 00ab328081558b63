"""Conversations of several people: each participant's route entry, who gets a copy of a text, and its label.

Pure functions over plain data (no I/O), like gateway/relay/rules.py; tests/test_fanout_rules.py has their tables.

Team styles of one_to_group: everyone (every member sees everything, as above) or claim: the first member to reply
takes the conversation; the other members get "Alex took this conversation." instead of that reply and nothing
after it, and a text from one of them gets "Your text was not sent: Alex took this conversation." back.
Both name the same event in the same words, so a member who loses a race (their text and the winner's at once)
reads them right in either order: carriers do not keep the order of two texts, and the two are queued by two
processes (the winner's and the loser's), so no order could be promised. (It read "Alex has this conversation; ...",
which, arriving before "Alex took this conversation.", told of the taking after its result.)

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
from gateway.vocabulary import ConversationShape, ParticipantRole, TeamStyle

GROUP_MAX = 10  # most outside participants of a group text
GROUP_MIN = 3  # fewest to open one


def entry_for(conversation_id: int, code: str, shape: str, me: Recipient, others: Sequence[Recipient],
              team_style: str | None = None, claimed_by: str | None = None) -> RouteEntry:
    """The conversation as the participant `me` sees it, the others being every other active participant."""
    if shape == ConversationShape.PAIR:
        [other] = others
        return RouteEntry(conversation_id, other.phone, other.name, code, me.name)
    first = others[0].phone if others else ""
    return RouteEntry(conversation_id, first, ", ".join(o.name for o in others), code, me.name, shape, me.role,
                      tuple(others), team_style or "", claimed_by or "")


def entries_of(conversation_id: int, code: str, shape: str, people: Sequence[Recipient],
               team_style: str | None = None, claimed_by: str | None = None) -> list[tuple[str, RouteEntry]]:
    """(phone, the entry that phone sees) for each active participant (in a pair, the prospect first)."""
    return [(me.phone, entry_for(conversation_id, code, shape, me, [p for p in people if p.phone != me.phone],
                                 team_style, claimed_by))
            for me in people]


def others(entry: RouteEntry) -> tuple[Recipient, ...]:
    """Every other active participant: the other party of a pair, or every other one."""
    return entry.recipients or (Recipient(entry.recipient, entry.recipient_name, ""),)


# --- Claim style (one_to_group, team_style claim): the first member to reply takes the conversation. ---------

def needs_claim(entry: RouteEntry) -> bool:
    """A member's text in a claim-style conversation nobody has taken: this member takes it, if first."""
    return (entry.team_style == TeamStyle.CLAIM and not entry.claimed_by
            and entry.sender_role == ParticipantRole.MEMBER)


def _sender_has_it(entry: RouteEntry) -> bool:
    return bool(entry.claimed_by) and all(other.phone != entry.claimed_by for other in entry.recipients)


def taken(entry: RouteEntry) -> bool:
    """A member's text in a conversation another member took: not relayed; the sender is told who has it."""
    return bool(entry.claimed_by) and entry.sender_role == ParticipantRole.MEMBER and not _sender_has_it(entry)


def recipients(entry: RouteEntry) -> tuple[Recipient, ...]:
    """Who gets a copy of a text from the sender of entry: every other participant, except in a conversation a
    member took: the customer's text goes to that member only, that member's to the customer only, and another
    member's to nobody (taken)."""
    everyone = others(entry)
    if not entry.claimed_by:
        return everyone
    if entry.sender_role == ParticipantRole.CUSTOMER:
        return tuple(other for other in everyone if other.phone == entry.claimed_by)
    if _sender_has_it(entry):
        return tuple(other for other in everyone if other.role == ParticipantRole.CUSTOMER)
    return ()


def claimer_name(entry: RouteEntry) -> str:
    return next((other.name for other in entry.recipients if other.phone == entry.claimed_by), entry.sender_name)


def took_body(name: str, *, code: str, recipient_open: int) -> str:
    """What the other members get instead of the reply of the member who took the conversation."""
    text = f"{name} took this conversation."
    return f"#{code} {text}" if recipient_open > 1 else text


def has_it_body(name: str, *, code: str, recipient_open: int) -> str:
    """The answer to a member who texts a conversation another member took (their text is not relayed)."""
    text = f"Your text was not sent: {name} took this conversation."
    return f"#{code} {text}" if recipient_open > 1 else text


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


def copies(entry: RouteEntry, body: str, open_counts: Mapping[str, int], identification: tuple[int, int],
           sender: str = "", took: bool = False) -> list[tuple[str, list[str]]]:
    """(phone, the parts that phone gets) for each recipient of a text from `sender`, whose entry this is;
    open_counts: each one's open conversations on the number (codes are shown when more than one). took: the
    sender just took this claim-style conversation, so the other members are told instead of getting the text.
    A text to a conversation another member took goes back to its sender as has_it_body, and nowhere else."""
    def count(phone: str) -> int:
        return open_counts.get(phone, 1)

    if taken(entry):
        return [(sender, [has_it_body(claimer_name(entry), code=entry.code, recipient_open=count(sender))])]
    result = [(to.phone, rules.relayed_parts(body, code=entry.code, sender_name=entry.sender_name,
                                             recipient_open=count(to.phone), identification=identification,
                                             label=label(entry, to)))
              for to in recipients(entry)]
    if took:
        result += [(other.phone, [took_body(entry.sender_name, code=entry.code, recipient_open=count(other.phone))])
                   for other in entry.recipients if other.role == ParticipantRole.MEMBER]
    return result


def longest_label(entry: RouteEntry) -> str | None:
    """The longest label any recipient's copy carries: the room a text has in one part is the smallest."""
    labels = [label(entry, to) for to in recipients(entry)]
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

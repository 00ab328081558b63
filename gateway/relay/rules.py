"""The relay rules: which pool number a conversation gets, where a reply goes, and what the recipient reads.

Pure functions over plain data, so the rules can be read and tested without a web server or a database.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Iterable

from gateway.relay import segments

# A code is a letter and one or two digits ("K3", "M27"): short to type on a phone, no 0/1/I/O to misread.
CODE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_DIGITS = "23456789"
# What counts as an attempt at a code at the start of a reply: "#K3 yes", "#k3: yes", "#Z9", and as phones
# also write it: after invisible marks (U+200E, U+FEFF, ...), with a space after the sign, or full-width
# ("＃Ｋ３", typed on Japanese and Chinese keyboards). A recipient reads all of these as the code, so a code
# of an ended conversation written so must not be relayed to another one. Read with code_of().
_INVISIBLE = "\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff"
_LETTER = "A-Za-z\uff21-\uff3a\uff41-\uff5a"
_DIGIT = "0-9\uff10-\uff19"
CODE_PREFIX = re.compile(rf"^[\s{_INVISIBLE}]*[#\uff03\ufe5f][ \t\u00a0]*([{_LETTER}][{_DIGIT}]{{1,3}})"
                         rf"(?![{_LETTER}{_DIGIT}])[\s:,.\-]*")


@dataclass(frozen=True)
class Recipient:
    """One of the other participants of a conversation of several (gateway/relay/fanout.py)."""

    phone: str
    name: str
    role: str  # a vocabulary.ParticipantRole


@dataclass(frozen=True)
class RouteEntry:
    """One open conversation seen from the participant who texts the proxy number.

    A pair fills the first five fields only. A conversation of several (one_to_group, group) also names its shape,
    the sender's role and every other active participant (recipients); recipient is then the first of them and
    recipient_name all their names, which is what the help reply lists."""

    conversation_id: int
    recipient: str  # the other party's phone
    recipient_name: str  # the other party's display name, for the help reply
    code: str  # the conversation's code on this proxy number
    sender_name: str  # the display name of the one who texts, shown to the recipient when codes are needed
    shape: str = "pair"  # a vocabulary.ConversationShape
    sender_role: str = ""  # of several: the sender's ParticipantRole
    recipients: tuple[Recipient, ...] = ()  # of several: every other active participant, in the order they joined
    team_style: str = ""  # one_to_group: a vocabulary.TeamStyle
    claimed_by: str = ""  # claim style: the phone of the member who took it ("" until one replies)


@dataclass(frozen=True)
class Forward:
    """Relay the text to the other party of this conversation."""

    entry: RouteEntry
    body: str  # what to relay, with any code stripped


@dataclass(frozen=True)
class UnknownCode:
    code: str
    entries: tuple[RouteEntry, ...]


@dataclass(frozen=True)
class Ended:
    """The code of one of the sender's conversations on this number that is closed or expired, or (left) one that
    runs without them: they left it (a group's STOP) or were removed."""

    code: str
    entries: tuple[RouteEntry, ...]  # the sender's open conversations on the number, for the reply
    left: bool = False


@dataclass(frozen=True)
class Unrouted:
    pass


Decision = Forward | Ended | UnknownCode | Unrouted


def after_code(body: str) -> str | None:
    """The text after the code a message starts with ("#k3: stop" -> "stop"), or None without one."""
    match = CODE_PREFIX.match(body)
    return body[match.end():] if match else None


def leading_code(body: str) -> str | None:
    """The code a message starts with ("#k3: yes" -> "K3"), or None."""
    match = CODE_PREFIX.match(body)
    return code_of(match) if match else None


def code_of(match: re.Match) -> str:
    """The code a CODE_PREFIX match names, in ASCII upper case ("ｋ３" -> "K3")."""
    return unicodedata.normalize("NFKC", match.group(1)).upper()


def decide(entries: Iterable[RouteEntry], last_relayed: int | None, body: str,
           ended_codes: Iterable[str] = (), left_codes: Iterable[str] = ()) -> Decision:
    """Where a message from one participant to one proxy number goes.

    A message that starts with "#CODE" goes only to the open conversation with that code (the code is
    stripped), however many the sender has: a code of one of the sender's ended conversations
    (`ended_codes`) gets Ended, as does one of a conversation that runs but the sender left (`left_codes`, Ended
    with left), any other code UnknownCode (Unrouted for a sender with no open one), and
    neither is relayed, so a text meant for a closed conversation never reaches another person. Without a
    code: one open conversation gets it; with several (a shared number) the one that last relayed a message
    to the sender, or else the newest.
    """
    entries = sorted(entries, key=lambda e: e.conversation_id, reverse=True)
    match = CODE_PREFIX.match(body)
    if match:
        code = code_of(match)
        for entry in entries:
            if entry.code == code:
                return Forward(entry, body[match.end():])
        if code in {c.upper() for c in left_codes}:
            return Ended(code, tuple(entries), left=True)
        if code in {c.upper() for c in ended_codes}:
            return Ended(code, tuple(entries))
        return UnknownCode(code, tuple(entries)) if entries else Unrouted()
    if not entries:
        return Unrouted()
    if len(entries) == 1:
        return Forward(entries[0], body)
    by_id = {entry.conversation_id: entry for entry in entries}
    return Forward(by_id.get(last_relayed, entries[0]), body)


def relayed_body(body: str, *, code: str, sender_name: str, recipient_open: int, label: str | None = None) -> str:
    """A recipient with several open conversations on this number needs to know which one speaks. label: who
    wrote it, as a copy of a conversation of several says it (fanout.label), before the text even without codes."""
    if recipient_open > 1:
        return f"#{code} {label or sender_name}: {body}"
    return f"{label}: {body}" if label else body


def notification_body(message: str, *, prospect_name: str, community_name: str, code: str, advocate_open: int) -> str:
    """The advocate's first text of a conversation the prospect started on the web site."""
    text = f"{prospect_name} via {community_name}: {message} (Reply to this number to answer.)"
    if advocate_open > 1:
        return f"#{code} {text}"
    return text


def help_body(code: str, entries: Iterable[RouteEntry]) -> str:
    """The reply to an unknown code: the codes that would work."""
    listed = ", ".join(f"#{entry.code} ({entry.recipient_name})" for entry in entries)
    return f"No conversation #{code}. Start your reply with one of: {listed}."


def ended_body(code: str, entries: Iterable[RouteEntry], left: bool = False) -> str:
    """The reply to the code of an ended conversation: it has ended, and the codes that would work. left: the
    conversation goes on without the sender (who left or was removed), so it has not ended, for them or the others."""
    listed = ", ".join(f"#{entry.code} ({entry.recipient_name})" for entry in entries)
    said = f"You are no longer in conversation #{code}." if left else f"Conversation #{code} has ended."
    if not listed:
        return f"{said} No conversation is open on this number."
    return f"{said} Start your reply with one of: {listed}."


def choose_number(pool: Iterable[str], busy: Iterable[str], load: dict[str, int]) -> tuple[str, bool]:
    """Pick a pool number for a new conversation; returns (number, shared).

    Prefer numbers on which neither participant has an open conversation, so every (number, participant)
    pair names one conversation; among those, the least loaded. When there is none, share the least
    loaded number and let codes tell the conversations apart.
    """
    pool = sorted(pool)
    if not pool:
        raise ValueError("the community owns no numbers")
    busy = set(busy)
    free = [number for number in pool if number not in busy]
    candidates = free or pool
    number = min(candidates, key=lambda n: (load.get(n, 0), n))
    return number, not free


def new_code(taken: Iterable[str]) -> str:
    """A code not in use on this number: two characters while they last, then three."""
    taken = {code.upper() for code in taken}
    for digits in (1, 2, 3):
        space = len(CODE_LETTERS) * len(CODE_DIGITS) ** digits
        if len(taken) < space * 0.8:
            break
    while True:
        code = secrets.choice(CODE_LETTERS) + "".join(secrets.choice(CODE_DIGITS) for _ in range(digits))
        if code not in taken:
            return code


# The longest code (a letter and three digits) and the longest identification the settings allow: a
# sender_id_template of 200 characters holding "{sender name}" up to 14 times, each a community name of up
# to 100 (gateway/api/communities.py). Used only to skip looking the real one up for short texts.
LONGEST_CODE = "Z999"
LONGEST_IDENTIFICATION = 200 - len("{message}") + 14 * (100 - len("{sender name}"))


def identification_cost(template: str, sender_name: str) -> tuple[int, int]:
    """(fixed code units, copies of the message) that begin_send.sql's wrapping adds, replacing "{sender name}"
    first and then "{message}", as it does: the wrapped length is fixed + copies * the message's length."""
    rendered = template.replace("{sender name}", sender_name)
    copies = rendered.count("{message}")
    return segments.length(rendered) - copies * len("{message}"), max(copies, 1)


def room(fixed: int, identification: tuple[int, int]) -> int:
    """Code units left for the writer's words in one text, when fixed units of ours go around them and the
    text may be wrapped in the sender identification; can be below zero."""
    id_fixed, copies = identification
    return (segments.MAX_BODY - id_fixed) // copies - fixed


def notification_room(*, prospect_name: str, community_name: str, identification: tuple[int, int]) -> int:
    """Room for the prospect's message in the advocate's notification, with the longest code prefix."""
    fixed = notification_body("", prospect_name=prospect_name, community_name=community_name, code=LONGEST_CODE,
                              advocate_open=2)
    return room(segments.length(fixed), identification)


def relay_room(*, code: str, sender_name: str, identification: tuple[int, int], label: str | None = None) -> int:
    """Room for a relayed text in one part, with its code prefix whether or not the recipient needs it."""
    return room(segments.length(relayed_body("", code=code, sender_name=sender_name, recipient_open=2,
                                             label=label)), identification)


def relayed_parts(body: str, *, code: str, sender_name: str, recipient_open: int,
                  identification: tuple[int, int], label: str | None = None) -> list[str]:
    """What the recipient gets for one relayed text, in order: one text, or several cut at word boundaries
    when the prefix or the sender identification would push it over the carrier's limit; none when the text
    is empty or blank. Every part carries the prefix, so a recipient with several conversations knows each."""
    fixed = segments.length(relayed_body("", code=code, sender_name=sender_name, recipient_open=recipient_open,
                                         label=label))
    part_room = max(room(fixed, identification), 2)
    return [relayed_body(part, code=code, sender_name=sender_name, recipient_open=recipient_open, label=label)
            for part in segments.split(body, part_room)]

"""The routing table's Redis side as data: its keys, the value of a route, the marker that says the table is whole,
and the scripts that change it. See gateway/routing/table.py for how they are used.

  gw:route:{proxy:participant}  hash  conversation id -> JSON [recipient, recipient name, code, sender name] for a
                                pair; a conversation of several adds shape, sender role, [[phone, name, role], ...], team
                                style, claimed by
  gw:last:{proxy:participant}   string  the conversation that last relayed a message to the participant
  gw:routes:built               string  "{generation}:{run_id}:{token}"
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Sequence

from gateway.relay import fanout
from gateway.relay.rules import Recipient, RouteEntry
from gateway.vocabulary import ConversationShape, ParticipantRole

ROUTE_PREFIX = "gw:route:"
LAST_PREFIX = "gw:last:"
REBUILD_LOCK = "gw:routes:rebuilding"
# Present while Redis holds the whole table; gone after a Redis restart without persistence or a flush. Its value
# says which generation and server it was built for (see the module's docstring).
BUILT = "gw:routes:built"
PAGE = 5000

# Remove a conversation from a participant's hash, and the "last relayed" pointer if it names it.
FORGET = """
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
"""

# Release the rebuild lock only if it is still ours (it expires; another process may hold it by now).
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def route_key(proxy: str, participant: str) -> str:
    return f"{ROUTE_PREFIX}{{{proxy}:{participant}}}"


def last_key(proxy: str, participant: str) -> str:
    return f"{LAST_PREFIX}{{{proxy}:{participant}}}"


def participant_of(key: str | bytes) -> str:
    """The participant's phone in a route key ("gw:route:{+14155550100:+14155552671}" -> "+14155552671")."""
    text = key.decode() if isinstance(key, bytes) else key
    return text[len(ROUTE_PREFIX) + 1:-1].split(":", 1)[1]


def others_of(entry: RouteEntry) -> list[str]:
    """The phones a route sends a text to, in order (find_active_routes.sql's others)."""
    return [other.phone for other in fanout.others(entry)]


@dataclass(frozen=True)
class OpenConversation:
    """What the routing table needs to know of a conversation: its active participants, in the order they joined
    (a pair: the prospect, then the advocate)."""

    id: int
    proxy_number: str
    code: str
    phones: Sequence[str]
    names: Sequence[str]
    roles: Sequence[str]
    shape: str = ConversationShape.PAIR
    team_style: str | None = None
    claimed_by: str | None = None  # claim style: the phone of the member who took it

    @classmethod
    def pair(cls, id: int, proxy_number: str, code: str, prospect: tuple[str, str],
             advocate: tuple[str, str]) -> OpenConversation:
        """A pair from its prospect's and advocate's (phone, name)."""
        return cls(id, proxy_number, code, (prospect[0], advocate[0]), (prospect[1], advocate[1]),
                   (ParticipantRole.PROSPECT, ParticipantRole.ADVOCATE))

    def people(self) -> list[Recipient]:
        return [Recipient(*person) for person in zip(self.phones, self.names, self.roles)]

    def sides(self) -> list[tuple[str, RouteEntry]]:
        """(sender phone, the entry that sender sees) for every active participant."""
        return fanout.entries_of(self.id, self.code, self.shape, self.people(), self.team_style, self.claimed_by)


class RouteSource(StrEnum):
    """Where a route lookup was answered (the gateway_route_lookup_seconds label)."""

    REDIS = "redis"
    POSTGRES = "postgres"


@dataclass(frozen=True)
class RouteLookup:
    """A sender's open conversations on one number, and which of them last relayed a message to the sender."""

    entries: tuple[RouteEntry, ...]
    last_relayed: int | None  # a conversation id; None when there is one entry or none, or nothing was relayed
    source: RouteSource


def encode(entry: RouteEntry) -> str:
    """A pair's route as before: [recipient, recipient name, code, sender name]; a conversation of several adds its
    shape, the sender's role, every other active participant as [phone, name, role], the team style and who took
    it (claim style)."""
    if not entry.recipients:
        return json.dumps([entry.recipient, entry.recipient_name, entry.code, entry.sender_name])
    return json.dumps([entry.recipient, entry.recipient_name, entry.code, entry.sender_name, entry.shape,
                       entry.sender_role, [[r.phone, r.name, r.role] for r in entry.recipients], entry.team_style,
                       entry.claimed_by])


def decode(field: str, value: str) -> RouteEntry:
    fields = json.loads(value)
    if len(fields) == 4:
        return RouteEntry(int(field), *fields)
    recipient, recipient_name, code, sender_name, shape, sender_role, others, team_style, claimed_by = fields
    return RouteEntry(int(field), recipient, recipient_name, code, sender_name, shape, sender_role,
                      tuple(Recipient(*other) for other in others), team_style, claimed_by)


def run_id_of(info: str | bytes) -> str:
    """run_id from the raw text of INFO server ("" when absent)."""
    text = info.decode() if isinstance(info, bytes) else info
    for line in text.splitlines():
        if line.startswith("run_id:"):
            return line[len("run_id:"):].strip()
    return ""


def in_step(marker: str | None, generation: int, run_id: str) -> bool:
    return marker is not None and marker.split(":")[:2] == [str(generation), run_id]

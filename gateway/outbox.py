"""The outbound queue in Redis: enqueue, claim (with the per-number rate), finish, retry, reclaim.

Postgres holds every outbound message (status "queued") before it is queued here; Redis only holds ids.
Keys share the hash tag {gw:q}, so every script touches one Redis Cluster slot:
  gw:{gw:q}:ready:urgent zset  member -> time (ms) it may be sent; codes and keyword replies are claimed first,
  gw:{gw:q}:ready:relay  zset  then relay traffic (relayed messages, notifications, help replies),
  gw:{gw:q}:ready:bulk   zset  then everything else
  gw:{gw:q}:inflight     zset  member -> lease deadline (ms); a lease that runs out goes back to ready
  gw:{gw:q}:next         hash  sending number -> earliest time (ms) it may send again
A member is "<message id, 20 digits>|<priority>|<segments>|<sending number>", so ties in time keep id
order; a number's next send waits its gap times the segments, so a 3-part message costs 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

TAG = "gw:{gw:q}"
PRIORITIES = ("urgent", "relay", "bulk")  # claimed in this order
READY = {priority: f"{TAG}:ready:{priority}" for priority in PRIORITIES}
INFLIGHT = f"{TAG}:inflight"
NEXT_SEND = f"{TAG}:next"

_NOW = "local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

# KEYS: the ready sets in priority order, then inflight, then next. ARGV: how many, ms between sends per
# number, lease ms, then the members this drainer finished since its last claim (their leases end here).
# A due message whose number is still busy is moved to that number's next free time.
CLAIM = _NOW + """
local want, gap, lease = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local inflight, next_send = KEYS[#KEYS - 1], KEYS[#KEYS]
for i = 4, #ARGV do redis.call('ZREM', inflight, ARGV[i]) end
local out = {}
for i = 1, #KEYS - 2 do
  if #out >= want then break end
  local due = redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', now, 'LIMIT', 0, want * 4)
  for _, m in ipairs(due) do
    if #out >= want then break end
    local segments, number = string.match(m, '^[^|]*|[^|]*|([^|]*)|(.*)$')
    local free = tonumber(redis.call('HGET', next_send, number) or '0')
    if free <= now then
      redis.call('HSET', next_send, number, now + gap * tonumber(segments))
      redis.call('ZREM', KEYS[i], m)
      redis.call('ZADD', inflight, now + lease, m)
      table.insert(out, m)
    else
      redis.call('ZADD', KEYS[i], free, m)
    end
  end
end
return out
"""

# KEYS: inflight, ready. ARGV: member, delay ms. Only a member this drainer still holds goes back.
RETRY = _NOW + """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
  return 1
end
return 0
"""

# KEYS: inflight, then the ready sets; ARGV: their priorities, in the same order.
# Leases that ran out (their drainer died or hung) go back to the ready set of their priority.
RECLAIM = _NOW + """
local ready = {}
for i, priority in ipairs(ARGV) do ready[priority] = KEYS[i + 1] end
local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1000)
for _, m in ipairs(stale) do
  local priority = string.match(m, '^[^|]*|([^|]*)|')
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZADD', ready[priority] or KEYS[#KEYS], now, m)
end
return #stale
"""

# KEYS: ready, inflight. ARGV: member. Queue unless already waiting or in flight (the sweeper's re-queue).
ENSURE = _NOW + """
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[1])
return 1
"""


@dataclass(frozen=True)
class Ticket:
    """A claimed queue entry."""

    member: str
    message_id: int
    priority: str
    segments: int
    from_number: str

    @classmethod
    def parse(cls, member: str) -> Ticket:
        message_id, priority, segments, from_number = member.split("|", 3)
        return cls(member, int(message_id), priority, int(segments), from_number)


def member(message_id: int, priority: str, segments: int, from_number: str) -> str:
    return f"{message_id:020d}|{priority}|{segments}|{from_number}"


class Outbox:
    def __init__(self, redis: aioredis.Redis, *, per_number_rate: float, lease_seconds: float) -> None:
        self.redis = redis
        self.gap_ms = max(1, int(1000 / per_number_rate))
        self.lease_ms = int(lease_seconds * 1000)
        self._claim = redis.register_script(CLAIM)
        self._retry = redis.register_script(RETRY)
        self._reclaim = redis.register_script(RECLAIM)
        self._ensure = redis.register_script(ENSURE)
        self._finished: list[str] = []

    async def enqueue(self, message_id: int, priority: str, from_number: str, segments: int = 1) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            self.enqueue_on(pipe, message_id, priority, from_number, segments)
            await pipe.execute()

    @staticmethod
    def enqueue_on(pipe, message_id: int, priority: str, from_number: str, segments: int = 1) -> None:
        """Add the enqueue to a caller's pipeline, so it shares a round trip with what else the caller writes."""
        pipe.zadd(READY[priority], {member(message_id, priority, segments, from_number): 0})

    async def ensure(self, message_id: int, priority: str, from_number: str, segments: int = 1) -> bool:
        """Queue a message unless it is already waiting or in flight; True when it was missing."""
        added = await self._ensure(keys=[READY[priority], INFLIGHT],
                                   args=[member(message_id, priority, segments, from_number)])
        return bool(added)

    async def claim(self, count: int) -> list[Ticket]:
        """Up to count due messages; also ends the leases of those finished since the last claim."""
        finished = self._finished[:]
        members = await self._claim(keys=[*READY.values(), INFLIGHT, NEXT_SEND],
                                    args=[count, self.gap_ms, self.lease_ms, *finished])
        del self._finished[:len(finished)]
        return [Ticket.parse(m) for m in members]

    def done(self, ticket: Ticket) -> None:
        """The message is recorded in Postgres as sent, held, blocked or failed: its lease ends with the next
        claim, which saves a round trip per message. Should this process die first, the lease runs out and
        the message is claimed again, but begin_send finds it no longer sendable, so nothing is sent twice."""
        self._finished.append(ticket.member)

    async def end_leases(self) -> None:
        """At shutdown: end the leases of finished messages now."""
        if self._finished:
            await self.redis.zrem(INFLIGHT, *self._finished)
            self._finished.clear()

    async def retry(self, ticket: Ticket, delay_seconds: float) -> bool:
        moved = await self._retry(keys=[INFLIGHT, READY[ticket.priority]],
                                  args=[ticket.member, int(delay_seconds * 1000)])
        return bool(moved)

    async def reclaim(self) -> int:
        return int(await self._reclaim(keys=[INFLIGHT, *READY.values()], args=list(READY)))

    async def depth(self) -> dict[str, int]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in (*READY.values(), INFLIGHT):
                pipe.zcard(key)
            *ready, inflight = await pipe.execute()
        return {"ready": sum(ready), "inflight": inflight}

"""The outbound queue in Redis: enqueue, claim (with the per-number rate), finish, retry, reclaim.

Postgres holds every outbound message (status "queued") before it is queued here; Redis only holds ids.
Keys share the hash tag {gw:q}, so every script touches one Redis Cluster slot:
  gw:{gw:q}:ready:urgent zset  member -> time (ms) it may be sent; codes and keyword replies are claimed first,
  gw:{gw:q}:ready:relay  zset  then relay traffic (relayed messages, notifications, help replies),
  gw:{gw:q}:ready:bulk   zset  then everything else
  gw:{gw:q}:inflight     zset  member -> lease deadline (ms); a lease that runs out goes back to ready
  gw:{gw:q}:next         hash  sending number -> earliest time (ms) it may send again
  gw:{gw:q}:answers      hash  message id (20 digits) -> the carrier's answer (JSON), kept from the moment
                               the carrier accepts until Postgres has recorded it; a claim reports a message
                               it holds, and that message is never sent again
A member is "<message id, 20 digits>|<priority>|<segments>|<sending number>", so ties in time keep id
order; a number's next send waits its gap times the segments, so a 3-part message costs 3.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import date
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from gateway.vocabulary import Priority, UsageUnit

if TYPE_CHECKING:
    from gateway.storage.batching import Pipelined

TAG = "gw:{gw:q}"
PRIORITIES = tuple(Priority)  # claimed in this order: urgent, relay, bulk
READY = {priority: f"{TAG}:ready:{priority}" for priority in PRIORITIES}
INFLIGHT = f"{TAG}:inflight"
NEXT_SEND = f"{TAG}:next"
ANSWERS = f"{TAG}:answers"

log = structlog.get_logger(__name__)

_NOW = "local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

# KEYS: the ready sets in priority order, then inflight, next and answers. ARGV: how many, ms between sends
# per number, lease ms, the count of finished members, the members this drainer finished since its last claim
# (their leases end here), then the ids of answers Postgres has recorded since (they are dropped here).
# A due message whose number is still busy is moved to that number's next free time. Returns the claimed
# members, and those of them whose carrier answer is kept (the carrier took them already).
CLAIM = _NOW + """
local want, gap, lease, finished = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local inflight, next_send, answers = KEYS[#KEYS - 2], KEYS[#KEYS - 1], KEYS[#KEYS]
for i = 5, 4 + finished do redis.call('ZREM', inflight, ARGV[i]) end
for i = 5 + finished, #ARGV do redis.call('HDEL', answers, ARGV[i]) end
local out, answered = {}, {}
for i = 1, #KEYS - 3 do
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
      if redis.call('HEXISTS', answers, string.sub(m, 1, 20)) == 1 then table.insert(answered, m) end
    else
      redis.call('ZADD', KEYS[i], free, m)
    end
  end
end
return {out, answered}
"""

# KEYS: inflight, ready. ARGV: member, delay ms. The member goes back unless it is waiting already. Not only
# while this drainer still holds it: a second entry for the message (the same member), dropped while this try
# was with the carrier, ended the lease they share, and the retry must not then wait for the sweeper.
RETRY = _NOW + """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 or not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
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
    """A claimed queue entry; answered: the carrier took this message already (its answer is kept)."""

    member: str
    message_id: int
    priority: Priority
    segments: int
    from_number: str
    answered: bool = False

    @classmethod
    def parse(cls, member: str, answered: bool = False) -> Ticket:
        message_id, priority, segments, from_number = member.split("|", 3)
        return cls(member, int(message_id), Priority(priority), int(segments), from_number, answered)


@dataclass(frozen=True)
class Answer:
    """The carrier took a message: what Postgres must record (see statuses.record_accepted). day and month are
    the community's local periods the segments count in (None: not counted)."""

    message_id: int
    sid: str
    day: date | None
    month: date | None
    segments: int
    community_id: int | None
    unit: str = UsageUnit.SMS_SEGMENT.value  # what the send counts as (an answer kept before units had none: SMS)

    def dumps(self) -> str:
        return json.dumps({**asdict(self), "day": _iso(self.day), "month": _iso(self.month), "at": time.time()})

    @classmethod
    def loads(cls, text: str) -> tuple[Answer, float]:
        """The answer, and when it was kept (Unix seconds)."""
        raw = json.loads(text)
        kept_at = raw.pop("at")
        day, month = (None if raw[k] is None else date.fromisoformat(raw[k]) for k in ("day", "month"))
        return cls(**{**raw, "day": day, "month": month}), kept_at


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def member(message_id: int, priority: Priority, segments: int, from_number: str) -> str:
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
        self._recorded: list[str] = []  # answer fields to drop with the next claim
        # Answers not yet recorded by Postgres, kept in this process too: the only copy when Redis was away.
        self.unrecorded: dict[int, tuple[Answer, bool]] = {}  # message id -> (answer, also in Redis)

    async def enqueue(self, message_id: int, priority: Priority, from_number: str, segments: int = 1) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            self.enqueue_on(pipe, message_id, priority, from_number, segments)
            await pipe.execute()

    @staticmethod
    def enqueue_on(pipe, message_id: int, priority: Priority, from_number: str, segments: int = 1) -> None:
        """Add the enqueue to a caller's pipeline, so it shares a round trip with what else the caller writes."""
        pipe.zadd(READY[priority], {member(message_id, priority, segments, from_number): 0})

    async def ensure(self, message_id: int, priority: Priority, from_number: str, segments: int = 1) -> bool:
        """Queue a message unless it is already waiting or in flight; True when it was missing."""
        added = await self._ensure(keys=[READY[priority], INFLIGHT],
                                   args=[member(message_id, priority, segments, from_number)])
        return bool(added)

    def ensure_on(self, pipe, message_id: int, priority: Priority, from_number: str, segments: int = 1) -> None:
        """ensure(), added to a caller's pipeline (the script is loaded, if Redis lacks it, when the pipeline runs)."""
        pipe.scripts.add(self._ensure)
        pipe.evalsha(self._ensure.sha, 2, READY[priority], INFLIGHT, member(message_id, priority, segments,
                                                                            from_number))

    async def claim(self, count: int) -> list[Ticket]:
        """Up to count due messages; also ends the leases of those finished since the last claim, and drops
        the answers recorded since. A ticket is `answered` when the carrier took its message already."""
        finished, recorded = self._finished[:], self._recorded[:]
        members, answered = await self._claim(keys=[*READY.values(), INFLIGHT, NEXT_SEND, ANSWERS],
                                              args=[count, self.gap_ms, self.lease_ms, len(finished), *finished,
                                                    *recorded])
        del self._finished[:len(finished)]
        del self._recorded[:len(recorded)]
        return [Ticket.parse(m, m in answered) for m in members]

    def done(self, ticket: Ticket) -> None:
        """The message is recorded in Postgres as sent, held, blocked or failed: its lease ends with the next
        claim, which saves a round trip per message. Should this process die first, the lease runs out and
        the message is claimed again, but begin_send finds it no longer sendable, so nothing is sent twice."""
        self._finished.append(ticket.member)

    async def end_leases(self) -> None:
        """At shutdown: end the leases of finished messages now, and drop the answers recorded."""
        if self._finished:
            await self.redis.zrem(INFLIGHT, *self._finished)
            self._finished.clear()
        if self._recorded:
            await self.redis.hdel(ANSWERS, *self._recorded)
            self._recorded.clear()

    async def keep(self, answer: Answer, pipelined: Pipelined) -> None:
        """Keep the carrier's answer until Postgres records it: in this process, and in Redis (whose
        append-only file outlives this process) if Redis answers, in a pipeline shared with other callers."""
        self.unrecorded[answer.message_id] = (answer, False)
        await self.keep_in_redis(answer, pipelined)

    async def keep_in_redis(self, answer: Answer, pipelined: Pipelined) -> bool:
        try:
            await pipelined.execute(lambda pipe: pipe.hset(ANSWERS, f"{answer.message_id:020d}", answer.dumps()))
        except (RedisError, ConnectionError) as exc:  # ConnectionError: the pipeline stopped at shutdown
            log.warning("send_answer_kept_in_memory", message_id=answer.message_id, error=type(exc).__name__)
            return False
        if answer.message_id in self.unrecorded:
            self.unrecorded[answer.message_id] = (answer, True)
        return True

    def recorded(self, message_id: int) -> None:
        """Postgres has recorded the answer: it is dropped here now, and in Redis with the next claim."""
        self.unrecorded.pop(message_id, None)
        self._recorded.append(f"{message_id:020d}")

    async def kept_answers(self, older_than: float) -> list[Answer]:
        """Answers in Redis kept longer than older_than seconds (their process may have died before
        recording them), besides those this process holds."""
        now = time.time()
        found = [Answer.loads(text) for text in (await self.redis.hvals(ANSWERS))]
        pending = set(self._recorded)
        return [answer for answer, kept_at in found
                if now - kept_at > older_than and f"{answer.message_id:020d}" not in pending
                and answer.message_id not in self.unrecorded]

    async def answer(self, message_id: int) -> Answer | None:
        """The kept answer for a message, from this process or Redis."""
        if message_id in self.unrecorded:
            return self.unrecorded[message_id][0]
        text = await self.redis.hget(ANSWERS, f"{message_id:020d}")
        return None if text is None else Answer.loads(text)[0]

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

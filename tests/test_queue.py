"""The outbound queue: shared by several drainers, safe through crashes, rate-limited per number, relay first."""

import asyncio
import time

from gateway import outbox
from gateway.outbox import Outbox
from tests.helpers import ALEX, PAT, PROXY, PROXY_2, wait_for


async def _queue_direct(db, gateway, count: int, to: str = ALEX, kind: str = "notification",
                        priority: str = "relay", sender: str = PROXY) -> list[int]:
    """Outbound rows stored as the API stores them, then queued; returns their ids."""
    ids = []
    for i in range(count):
        message_id = await db.fetchval(
            "INSERT INTO messages (direction, kind, priority, from_number, to_number, body, status)"
            " VALUES ('outbound', $1, $2, $3, $4, $5, 'queued') RETURNING id", kind, priority, sender, to, f"m{i}")
        await gateway.ctx.queue(message_id, priority, sender)
        ids.append(message_id)
    return ids


async def _store(db, body: str) -> int:
    return await db.fetchval(
        "INSERT INTO messages (direction, kind, from_number, to_number, body, status)"
        " VALUES ('outbound', 'notification', $1, $2, $3, 'queued') RETURNING id", PROXY, ALEX, body)


async def _status_is(gateway, message_id, status) -> bool:
    return (await gateway.message(message_id))["status"] == status


async def _inflight_empty(redis_client) -> bool:
    return await redis_client.zcard(outbox.INFLIGHT) == 0


async def test_two_gateways_drain_one_queue_without_sending_twice(start_gateway, db):
    first = await start_gateway()
    second = await start_gateway()
    ids = await _queue_direct(db, first, 60)
    await first.delivered_to(ALEX, 60, timeout=15)
    await asyncio.sleep(0.3)  # let any duplicate show itself
    bodies = first.carrier.bodies_to(ALEX)
    assert sorted(bodies) == sorted(f"m{i}" for i in range(60))
    statuses = await db.fetch("SELECT status, attempts FROM messages WHERE id = ANY($1)", ids)
    assert {(r["status"], r["attempts"]) for r in statuses} == {("accepted", 1)}
    both = [g.client.app for g in (first, second)]
    sends = [app[__import__("gateway.keys", fromlist=["METRICS"]).METRICS].registry.get_sample_value(
        "gateway_sends_total", {"result": "accepted"}) or 0 for app in both]
    assert sum(sends) == 60


async def test_lease_of_a_dead_drainer_is_reclaimed_and_sent_once(start_gateway, db, redis_client):
    gateway = await start_gateway(queue={"lease_seconds": 3.0})
    # A drainer in another process claims the message, then dies without a word.
    dead = Outbox(redis_client, per_number_rate=1000, lease_seconds=0.5)
    message_id = await _store(db, "orphan")
    await dead.enqueue(message_id, "relay", PROXY)
    [ticket] = await dead.claim(1)
    assert ticket.message_id == message_id
    assert await gateway.delivered_to(ALEX, timeout=8) == ["orphan"]
    await wait_for(lambda: _inflight_empty(redis_client), what="the lease released")
    assert (await gateway.message(message_id))["attempts"] == 1  # the dead drainer never began the send


async def test_a_finished_lease_ends_with_the_next_claim_and_a_dead_finisher_sends_nothing_twice(
        gateway, db, redis_client):
    # A drainer in another process sends a message and records it, then dies before its next claim.
    dying = Outbox(redis_client, per_number_rate=1000, lease_seconds=0.5)
    message_id = await _store(db, "sent by the dying one")
    await dying.enqueue(message_id, "relay", PROXY)
    [ticket] = await dying.claim(1)
    await db.execute("UPDATE messages SET status = 'accepted', attempts = 1 WHERE id = $1", message_id)
    dying.done(ticket)
    assert await redis_client.zscore(outbox.INFLIGHT, ticket.member) is not None  # ends with the next claim
    # It never claims again: the lease runs out, this gateway reclaims it and finds nothing left to send.
    await wait_for(lambda: _inflight_empty(redis_client), timeout=8, what="the lease reclaimed and finished")
    await asyncio.sleep(0.2)
    assert gateway.carrier.bodies_to(ALEX) == []
    assert (await gateway.message(message_id))["attempts"] == 1


async def test_a_finished_lease_ends_with_the_drainers_next_claim(redis_client):
    queue = Outbox(redis_client, per_number_rate=1000, lease_seconds=30)
    await queue.enqueue(7, "relay", PROXY)
    [ticket] = await queue.claim(1)
    queue.done(ticket)
    assert await redis_client.zscore(outbox.INFLIGHT, ticket.member) is not None
    assert await queue.claim(1) == []
    assert await redis_client.zcard(outbox.INFLIGHT) == 0


async def test_sweeper_requeues_what_redis_lost(gateway, db, redis_client):
    message_id = await _store(db, "lost in redis")
    assert await redis_client.zcard(outbox.READY["relay"]) == 0  # never queued: as if Redis lost it
    assert await gateway.delivered_to(ALEX, timeout=8) == ["lost in redis"]
    await wait_for(lambda: _status_is(gateway, message_id, "accepted"), what="the send recorded")


async def test_each_number_sends_at_its_rate(start_gateway, db):
    gateway = await start_gateway(relay={"per_number_rate": 5.0})
    await _queue_direct(db, gateway, 5, sender=PROXY)
    await _queue_direct(db, gateway, 5, sender=PROXY_2, to=PAT)
    started = time.monotonic()
    await gateway.delivered_to(ALEX, 5, timeout=10)
    await gateway.delivered_to(PAT, 5, timeout=10)
    elapsed = time.monotonic() - started
    # Five from one number at 5/s take at least 0.8 s; the other number sends alongside, not after.
    assert elapsed >= 0.75
    per_number = [m["From"] for m in gateway.carrier.sent]
    assert per_number.count(PROXY) == per_number.count(PROXY_2) == 5
    assert gateway.carrier.bodies_to(ALEX) == [f"m{i}" for i in range(5)]  # in order


async def test_relay_traffic_goes_ahead_of_bulk(start_gateway, db, redis_client):
    gateway = await start_gateway(relay={"per_number_rate": 2.0})
    bulk = await _queue_direct(db, gateway, 3, kind="auto_reply", priority="bulk", to=PAT)
    relay = await _queue_direct(db, gateway, 2, to=ALEX)
    await gateway.delivered_to(PAT, 3, timeout=10)
    order = [m["To"] for m in gateway.carrier.sent]
    # The first bulk message may go before the relay ones were queued; the rest wait behind them.
    assert order.index(ALEX) < order.index(PAT, 1) and order[-1] == PAT
    assert len(bulk) == 3 and len(relay) == 2


async def test_sent_counter_shows_on_the_community(gateway):
    community = await gateway.community()
    await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)

    async def counted():
        status, body = await gateway.call("GET", f"/v1/communities/{community['id']}")
        return body["daily"]["used"] == 1 and body["monthly"]["used"] == 1

    await wait_for(counted, what="sent_today")

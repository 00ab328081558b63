"""The outbound queue: shared by several drainers, safe through crashes, rate-limited per number, relay first."""

import time

from gateway.messaging import outbox
from gateway.messaging.outbox import Outbox
from gateway.storage import messages
from gateway.vocabulary import MessageKind, MessageStatus, Priority
from tests.helpers import ALEX, PAT, PROXY, PROXY_2, wait_for


async def _queue_direct(db, gateway, count: int, to: str = ALEX, sender: str = PROXY) -> list[int]:
    """Notifications stored as the API stores them (outside any community), then queued; returns their ids."""
    ids = []
    for i in range(count):
        message = await _stored(db, f"m{i}", to=to, sender=sender)
        assert await gateway.dispatcher.dispatch(message, Priority.RELAY, sender)
        ids.append(message.id)
    return ids


async def _stored(db, body: str, to: str = ALEX, kind: MessageKind = MessageKind.NOTIFICATION,
                  priority: Priority = Priority.RELAY, sender: str = PROXY) -> messages.StoredOutbound:
    """An outbound message stored as queued, with its first event, and not handed to Redis."""
    message = await messages.insert_outbound_message(db, community_id=None, conversation_id=None, kind=kind,
                                                     priority=priority, from_number=sender, to_number=to, body=body,
                                                     segments=1)
    assert message.status == MessageStatus.QUEUED
    return message


async def _store(db, body: str) -> int:
    return (await _stored(db, body)).id


async def _status_is(gateway, message_id, status) -> bool:
    return (await gateway.message(message_id))["status"] == status


async def queue_empty(redis_client) -> bool:
    """Nothing waiting and nothing in flight, in one snapshot: a message moving from one set to the other (a
    reclaim, then a claim) is never missed between two reads. Once empty, every claimed message was finished."""
    async with redis_client.pipeline(transaction=True) as pipe:
        for key in (*outbox.READY.values(), outbox.INFLIGHT):
            pipe.zcard(key)
        return not any(await pipe.execute())


async def _all_accepted(db, ids) -> bool:
    return await db.fetchval("SELECT count(*) FROM messages WHERE id = ANY($1) AND status = 'accepted'", ids) == len(ids)


async def test_two_gateways_drain_one_queue_without_sending_twice(start_gateway, db, redis_client):
    first = await start_gateway()
    second = await start_gateway()
    ids = await _queue_direct(db, first, 60)
    await first.delivered_to(ALEX, 60, timeout=15)
    # Every one recorded and the queue empty: nothing is left that could still be sent (a duplicate shows now).
    await wait_for(lambda: _all_accepted(db, ids), timeout=10, what="every send recorded")
    await wait_for(lambda: queue_empty(redis_client), what="the queue empty")
    assert len(first.carrier.requests) == 60
    bodies = first.carrier.bodies_to(ALEX)
    assert sorted(bodies) == sorted(f"m{i}" for i in range(60))
    statuses = await db.fetch("SELECT status, attempts FROM messages WHERE id = ANY($1)", ids)
    assert {(r["status"], r["attempts"]) for r in statuses} == {("accepted", 1)}
    both = [g.client.app for g in (first, second)]
    sends = [app[__import__("gateway.keys", fromlist=["METRICS"]).METRICS].registry.get_sample_value(
        "gateway_sends_total", {"result": "accepted"}) or 0 for app in both]
    assert sum(sends) == 60


async def test_lease_of_a_dead_drainer_is_reclaimed_and_sent_once(start_gateway, db, redis_client):
    # A drainer in another process claims the message, then dies without a word. The gateway starts only
    # afterwards: its own drainer and sweeper would otherwise race the dead one for the message.
    dead = Outbox(redis_client, per_number_rate=1000, lease_seconds=0.5)
    message_id = await _store(db, "orphan")
    await dead.enqueue(message_id, "relay", PROXY)
    [ticket] = await dead.claim(1)
    assert ticket.message_id == message_id
    gateway = await start_gateway(queue={"lease_seconds": 3.0})
    assert await gateway.delivered_to(ALEX, timeout=8) == ["orphan"]
    await wait_for(lambda: _all_accepted(db, [message_id]), what="the send recorded")
    await wait_for(lambda: queue_empty(redis_client), what="the lease released")
    assert len(gateway.carrier.requests) == 1
    assert (await gateway.message(message_id))["attempts"] == 1  # the dead drainer never began the send


async def test_a_finished_lease_ends_with_the_next_claim_and_a_dead_finisher_sends_nothing_twice(
        start_gateway, db, redis_client):
    # A drainer in another process sends a message and records it, then dies before its next claim. The
    # gateway starts only afterwards: its drainer, reclaimer and sweeper would otherwise race the dying one.
    dying = Outbox(redis_client, per_number_rate=1000, lease_seconds=0.5)
    message_id = await _store(db, "sent by the dying one")
    await dying.enqueue(message_id, "relay", PROXY)
    [ticket] = await dying.claim(1)
    await db.execute("UPDATE messages SET status = 'accepted', attempts = 1 WHERE id = $1", message_id)
    dying.done(ticket)
    assert await redis_client.zscore(outbox.INFLIGHT, ticket.member) is not None  # ends with the next claim
    # It never claims again: the lease runs out, the gateway reclaims it and finds nothing left to send. The
    # queue is empty only once the gateway's drainer claimed it again and finished it.
    gateway = await start_gateway()
    await wait_for(lambda: queue_empty(redis_client), timeout=8, what="the lease reclaimed and finished")
    assert gateway.carrier.requests == []
    assert (await gateway.message(message_id))["attempts"] == 1


async def test_a_second_queue_entry_for_a_message_being_sent_sends_nothing(start_gateway, db, redis_client):
    # A late enqueue (the store's own, after the sweeper queued the row when sweep_after passed under load) puts
    # the member back in the ready set while the first try waits for the carrier: the second ticket is claimed
    # at once, and must not send the message again (it did: the first text of a conversation, twice).
    from tests.fakes import Reply
    gateway = await start_gateway(carrier={"send_timeout": 4.0})
    gateway.carrier.then(Reply(delay=1.5))
    message = await _stored(db, "once")
    assert await gateway.dispatcher.dispatch(message, Priority.RELAY, PROXY)
    await wait_for(lambda: _status_is(gateway, message.id, "submitting"), what="the first try with the carrier")
    await gateway.dispatcher.queue(message.id, Priority.RELAY, PROXY)
    await wait_for(lambda: _all_accepted(db, [message.id]), timeout=8, what="the send recorded")
    await wait_for(lambda: queue_empty(redis_client), what="the queue empty")
    assert gateway.carrier.bodies_to(ALEX) == ["once"]
    assert len(gateway.carrier.requests) == 1
    assert (await gateway.message(message.id))["attempts"] == 1


async def test_a_finished_lease_ends_with_the_drainers_next_claim(redis_client):
    queue = Outbox(redis_client, per_number_rate=1000, lease_seconds=30)
    await queue.enqueue(7, "relay", PROXY)
    [ticket] = await queue.claim(1)
    queue.done(ticket)
    assert await redis_client.zscore(outbox.INFLIGHT, ticket.member) is not None
    assert await queue.claim(1) == []
    assert await redis_client.zcard(outbox.INFLIGHT) == 0


async def test_sweeper_requeues_what_redis_lost(start_gateway, db, redis_client):
    message_id = await _store(db, "lost in redis")
    assert await redis_client.zcard(outbox.READY["relay"]) == 0  # never queued: as if Redis lost it
    gateway = await start_gateway()  # after the check: its sweeper may re-queue the message at any moment
    assert await gateway.delivered_to(ALEX, timeout=8) == ["lost in redis"]
    await wait_for(lambda: _status_is(gateway, message_id, "accepted"), what="the send recorded")


async def test_each_number_sends_at_its_rate(start_gateway, db):
    gateway = await start_gateway(relay={"per_number_rate": 5.0})
    started = time.monotonic()  # before queueing: the drainer sends while the rest are still being queued
    await _queue_direct(db, gateway, 5, sender=PROXY)
    await _queue_direct(db, gateway, 5, sender=PROXY_2, to=PAT)
    await gateway.delivered_to(ALEX, 5, timeout=10)
    await gateway.delivered_to(PAT, 5, timeout=10)
    elapsed = time.monotonic() - started
    # Five from one number at 5/s take at least 0.8 s; the other number sends alongside, not after.
    assert elapsed >= 0.75
    per_number = [m["From"] for m in gateway.carrier.sent]
    assert per_number.count(PROXY) == per_number.count(PROXY_2) == 5
    assert gateway.carrier.bodies_to(ALEX) == [f"m{i}" for i in range(5)]  # in order


async def test_relay_traffic_goes_ahead_of_bulk(start_gateway, db, redis_client):
    # Everything is queued before the gateway starts, bulk first, so no claim can come between the two.
    queue = Outbox(redis_client, per_number_rate=2.0, lease_seconds=5.0)
    bulk = (MessageKind.AUTO_REPLY, Priority.BULK, PAT, "b")
    relay = (MessageKind.NOTIFICATION, Priority.RELAY, ALEX, "r")
    for kind, priority, to, body in [bulk] * 3 + [relay] * 2:
        message = await _stored(db, body, to=to, kind=kind, priority=priority)
        await queue.enqueue(message.id, priority, PROXY)
    gateway = await start_gateway(relay={"per_number_rate": 2.0})
    await gateway.delivered_to(PAT, 3, timeout=10)
    assert [m["To"] for m in gateway.carrier.sent] == [ALEX, ALEX, PAT, PAT, PAT]


async def test_sent_counter_shows_on_the_community(gateway):
    community = await gateway.community()
    await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)

    async def counted():
        status, body = await gateway.call("GET", f"/v1/communities/{community['id']}")
        return body["daily"]["used"] == 1 and body["monthly"]["used"] == 1

    await wait_for(counted, what="sent_today")

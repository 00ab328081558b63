"""A send the carrier accepted is never sent again, even when Postgres is away as its answer comes back."""

import asyncio
import secrets
from collections import Counter
from urllib.parse import parse_qs, urlsplit

from redis.exceptions import RedisError

from tests.conftest import Servers
from tests.fakes import Proxy, Reply
from tests.helpers import ALEX, PROXY, wait_for
from tests.test_queue import queue_empty
from tests.test_resilience import _via_proxy

CONVERSATIONS = 30
STREAM = 300
LEASE = 3.0  # short, so that a resend would show within the test
OUTAGE = 6.0


def _prospect(i: int) -> str:
    return f"+1415556{1000 + i}"


def _advocate(i: int) -> str:
    return f"+1415557{1000 + i}"


def _sends_per_message(carrier) -> Counter:
    """How many times the carrier was asked to send each of our messages (the StatusCallback names it)."""
    return Counter(int(parse_qs(urlsplit(r["StatusCallback"]).query)["message_id"][0]) for r in carrier.requests)


async def _settled(db, redis_client, count: int) -> bool:
    """Every outbound message recorded as accepted, and nothing waiting or in flight in the queue."""
    accepted = await db.fetchval("SELECT count(*) FROM messages WHERE direction = 'outbound' AND status = 'accepted'")
    return accepted == count and await queue_empty(redis_client)


async def _gateway_behind_proxy(start_gateway, clean, **sections):
    proxy = Proxy(_via_proxy(clean.database_url, 0)[1])
    port = await proxy.start()
    gateway = await start_gateway(servers=Servers(_via_proxy(clean.database_url, port)[0], clean.redis_url,
                                                  clean.embedded), queue={"lease_seconds": LEASE}, **sections)
    return gateway, proxy, port


async def _post_until_taken(gateway, sender: str, body: str) -> int:
    """A signed inbound webhook, repeated on 503 with the same sid as the carrier would; returns the 503s."""
    sid, refused = "SM" + secrets.token_hex(16), 0
    while (await gateway.sms(sender, PROXY, body, sid=sid))[0] != 200:
        refused += 1
        await asyncio.sleep(0.1)
    return refused


async def test_postgres_away_during_a_stream_sends_nothing_twice(start_gateway, clean, db, redis_client):
    gateway, proxy, port = await _gateway_behind_proxy(start_gateway, clean)
    community = await gateway.community(daily_limit_levels=[10000], daily_limit_ceiling=10000)
    for i in range(CONVERSATIONS):
        await gateway.conversation(community["id"], prospect=(_prospect(i), f"P{i}"), advocate=(_advocate(i), f"A{i}"))
    await wait_for(lambda: _settled(db, redis_client, CONVERSATIONS), timeout=20, what="the notifications sent")
    # A carrier that takes a tenth of a second to answer, as a real one does: sends are in flight at the cut.
    gateway.carrier.then(*[Reply(delay=0.1)] * (3 * STREAM))
    taken = asyncio.Event()

    async def outage():
        await taken.wait()
        await proxy.cut()
        await asyncio.sleep(OUTAGE)
        await proxy.start(port)

    async def stream(worker: int, workers: int = 6) -> int:
        refused = 0
        for i in range(worker, STREAM, workers):
            refused += await _post_until_taken(gateway, _prospect(i % CONVERSATIONS), f"msg {i}")
            if i >= STREAM // 3:
                taken.set()
        return refused

    outage_task = asyncio.create_task(outage())
    refused = sum(await asyncio.gather(*(stream(w) for w in range(6))))
    await outage_task
    assert refused > 0  # the outage fell inside the stream
    await wait_for(lambda: _settled(db, redis_client, CONVERSATIONS + STREAM), timeout=40, what="every send recorded")

    sends = _sends_per_message(gateway.carrier)
    outbound = {r["id"] for r in await db.fetch("SELECT id FROM messages WHERE direction = 'outbound'")}
    relayed = {r["Body"] for r in gateway.carrier.requests if r["Body"].startswith("msg ")}
    duplicates = sorted(mid for mid, count in sends.items() if count > 1)
    lost = {f"msg {i}" for i in range(STREAM)} - relayed
    assert (len(duplicates), len(lost), set(sends) == outbound) == (0, 0, True), duplicates
    await proxy.cut()


async def test_an_accepted_send_whose_record_failed_is_recorded_once_postgres_returns(start_gateway, clean, db,
                                                                                        redis_client):
    gateway, proxy, port = await _gateway_behind_proxy(start_gateway, clean)
    community = await gateway.community()
    gateway.carrier.then(Reply(delay=1.0, sid="SM" + "a" * 32))  # the carrier holds its answer
    await gateway.conversation(community["id"])
    await wait_for(lambda: _async(len(gateway.carrier.requests) == 1), what="the send at the carrier")
    message_id = (await db.fetchrow("SELECT id FROM messages WHERE direction = 'outbound'"))["id"]
    await proxy.cut()  # Postgres goes away before the carrier's answer comes back
    await wait_for(lambda: _async(len(gateway.carrier.sent) == 1), what="the carrier's answer")

    # As the sweeper or a reclaimed lease would: the message comes round again while Postgres is still away.
    # The kept answer stops it before any send, and the queue lets it go.
    await gateway.outbox.ensure(message_id, "relay", PROXY)
    await wait_for(lambda: queue_empty(redis_client), timeout=LEASE * 3, what="the repeat dropped")

    await proxy.start(port)
    await wait_for(lambda: _settled(db, redis_client, 1), timeout=LEASE * 3, what="the send recorded")
    row = await db.fetchrow("SELECT carrier_sid, attempts FROM messages WHERE id = $1", message_id)
    assert (row["carrier_sid"], row["attempts"]) == ("SM" + "a" * 32, 1)
    assert _sends_per_message(gateway.carrier) == {message_id: 1}
    assert await db.fetchval("SELECT sum(segments) FROM usage_counters WHERE period = 'day'") == 1
    assert ALEX in {r["To"] for r in gateway.carrier.requests}
    await proxy.cut()


async def _async(value):
    return value


async def test_an_answer_held_in_memory_while_redis_and_postgres_are_away_is_recorded_once(start_gateway, clean,
                                                                                            own_redis, db):
    proxy = Proxy(_via_proxy(clean.database_url, 0)[1])
    port = await proxy.start()
    servers = Servers(_via_proxy(clean.database_url, port)[0], own_redis.start_redis(), own_redis)
    gateway = await start_gateway(servers=servers, queue={"lease_seconds": LEASE})
    community = await gateway.community()
    gateway.carrier.then(Reply(delay=1.0, sid="SM" + "b" * 32))
    await gateway.conversation(community["id"])
    await wait_for(lambda: _async(len(gateway.carrier.requests) == 1), what="the send at the carrier")
    await proxy.cut()
    own_redis.stop()  # both away as the carrier's answer comes back: only the process holds it
    await wait_for(lambda: _async(len(gateway.carrier.sent) == 1), what="the carrier's answer")
    await wait_for(lambda: _async(bool(gateway.outbox.unrecorded)), what="the answer held in memory")

    own_redis.start_redis()  # back with its data, Postgres still away
    redis_client = gateway.redis
    # The message comes round again (as the sweeper would bring it): the answer held stops it.
    message_id = next(iter(gateway.outbox.unrecorded))
    await wait_for(lambda: _ensure(gateway, message_id), timeout=LEASE, what="the message queued again")
    await wait_for(lambda: _async(_metric(gateway, "gateway_sends_total", result="repeat_stopped") >= 1),
                   timeout=LEASE, what="the repeat stopped")
    await proxy.start(port)
    await wait_for(lambda: _settled(db, redis_client, 1), timeout=LEASE * 4, what="the send recorded")
    assert await db.fetchval("SELECT carrier_sid FROM messages WHERE direction = 'outbound'") == "SM" + "b" * 32
    assert len(gateway.carrier.requests) == 1
    await proxy.cut()


async def _ensure(gateway, message_id) -> bool:
    try:
        return await gateway.outbox.ensure(message_id, "relay", PROXY)
    except RedisError:
        return False  # its connections are still coming back


def _metric(gateway, name: str, **labels) -> float:
    return gateway.metrics.registry.get_sample_value(name, labels) or 0.0

"""Faults during a stream of inbound messages, on real servers: counts of accepted, relayed and lost."""

import asyncio
import secrets


from tests.conftest import Servers
from tests.fakes import Proxy, Reply
from tests.helpers import ALEX, PAT, PROXY
from tests.test_resilience import _via_proxy

STREAM = 40


async def _conversation(gateway):
    community = await gateway.community()
    await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)


async def _stream(gateway, during, retry_refused: bool = True):
    """STREAM inbound messages from Alex; `during(i)` breaks and mends things. Refused ones are retried
    afterwards, as the carrier would. Returns (accepted, refused) counts."""
    sids = ["SM" + secrets.token_hex(16) for _ in range(STREAM)]
    refused = []
    for i, sid in enumerate(sids):
        await during(i)
        status, _ = await gateway.sms(ALEX, PROXY, f"msg {i}", sid=sid)
        assert status in (200, 503)
        if status == 503:
            refused.append(i)
        await asyncio.sleep(0.02)
    if retry_refused:
        for i in refused:
            assert (await gateway.sms(ALEX, PROXY, f"msg {i}", sid=sids[i]))[0] == 200
    return STREAM - len(refused), len(refused)


async def _relayed_once(gateway, db):
    bodies = await gateway.delivered_to(PAT, STREAM, timeout=20)
    expected = {f"msg {i}" for i in range(STREAM)}
    lost = expected - set(bodies)
    duplicates = len(bodies) - len(set(bodies))
    assert (len(set(bodies) & expected), len(lost), duplicates) == (STREAM, 0, 0)
    assert await db.fetchval("SELECT count(*) FROM messages WHERE kind = 'relay'") == STREAM




async def test_redis_restarted_during_a_stream(start_gateway, clean, own_redis, db):
    gateway = await start_gateway(servers=Servers(clean.database_url, own_redis.start_redis(), own_redis))
    await _conversation(gateway)

    async def during(i):
        if i == 10:
            own_redis.stop()
        if i == 25:
            own_redis.start_redis()

    accepted, refused = await _stream(gateway, during)
    assert (accepted, refused) == (STREAM, 0)  # routing fell back to Postgres: nothing refused
    await _relayed_once(gateway, db)
    fallbacks = gateway.metrics.registry.get_sample_value("gateway_redis_fallbacks_total",
                                                              {"operation": "lookup"})
    assert fallbacks and fallbacks >= 10


async def behind_a_postgres_proxy(start_gateway, clean) -> tuple[Proxy, int, object]:
    """(a proxy between the gateway and Postgres, which a test can cut and start again; its port; the gateway
    started through it)."""
    proxy = Proxy(_via_proxy(clean.database_url, 0)[1])
    port = await proxy.start()
    gateway = await start_gateway(servers=Servers(_via_proxy(clean.database_url, port)[0], clean.redis_url,
                                                  clean.embedded))
    return proxy, port, gateway


async def test_postgres_away_during_a_stream(start_gateway, clean, db):
    proxy, port, gateway = await behind_a_postgres_proxy(start_gateway, clean)
    await _conversation(gateway)

    async def during(i):
        if i == 10:
            await proxy.cut()
        if i == 25:
            await proxy.start(port)

    accepted, refused = await _stream(gateway, during)
    assert refused >= 10 and accepted + refused == STREAM  # refused with 503, never 200-and-lost
    await _relayed_once(gateway, db)
    await proxy.cut()


async def test_a_failing_carrier_never_blocks_the_webhooks(start_gateway, db):
    gateway = await start_gateway(carrier={"max_attempts": 4})
    await _conversation(gateway)
    gateway.carrier.then(Reply(500), Reply(429, 20429, "Too Many Requests", retry_after="0"), Reply(delay=3.0),
                         *[Reply(delay=1.0)] * 10)

    async def during(i):
        pass

    accepted, refused = await _stream(gateway, during)
    # Every webhook was answered while sends were failing or hanging at the carrier.
    assert (accepted, refused) == (STREAM, 0)
    await _relayed_once(gateway, db)

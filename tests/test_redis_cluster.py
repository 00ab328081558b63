"""The gateway on a real Redis Cluster (three Valkey primaries, a replica each; tests/valkey_cluster.py), chosen by
the URL (redis+cluster://): relaying, limits, the routing table's rebuild, and a primary killed mid-traffic,
counted: every text accepted is relayed once, none lost, none twice."""

import asyncio
import itertools

import pytest
from redis.asyncio.cluster import RedisCluster

from gateway.keys import REDIS, ROUTES
from gateway.routing.connect import is_cluster
from tests.conftest import Servers
from tests.helpers import ALEX, PAT, PROXY, wait_for
from tests.valkey_cluster import ValkeyCluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    started = ValkeyCluster(tmp_path_factory.mktemp("valkey-cluster")).start()
    yield started
    started.stop()


@pytest.fixture
async def on_cluster(cluster, clean, start_gateway):
    """start(**settings): a gateway on the cluster, emptied first."""
    client = RedisCluster.from_url(cluster.url.replace("redis+cluster", "redis"))
    await client.flushall(target_nodes=RedisCluster.PRIMARIES)
    await client.aclose()

    async def start(**sections):
        return await start_gateway(servers=Servers(clean.database_url, cluster.url, clean.embedded), **sections)

    return start


async def test_a_conversation_relays_on_the_cluster(on_cluster, db):
    gateway = await on_cluster()
    assert is_cluster(gateway.config.redis.url) and isinstance(gateway.client.app[REDIS], RedisCluster)
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    for n in range(3):
        assert (await gateway.sms(ALEX, PROXY, f"Answer {n}"))[0] == 200
        assert (await gateway.sms(PAT, PROXY, f"Question {n}"))[0] == 200
    assert sorted(await gateway.delivered_to(PAT, 3)) == [f"Answer {n}" for n in range(3)]
    assert [b for b in await gateway.delivered_to(ALEX, 4) if b.startswith("Question")] == [
        f"Question {n}" for n in range(3)]
    # every send recorded (the limits' counters live on the cluster too: the community's hash tag)
    await wait_for(lambda: _none_unsent(db), 10, "every send recorded")
    status, body = await gateway.call("GET", "/readyz", token=None)
    assert (status, body["status"]) == (200, "ready")
    assert conversation["id"]


async def test_the_routing_table_rebuilds_across_the_nodes(on_cluster):
    gateway = await on_cluster()
    community = await gateway.community()
    phones = [f"+1415555{n:04d}" for n in range(3000, 3012)]
    for prospect, advocate in zip(phones[::2], phones[1::2]):
        await gateway.conversation(community["id"], prospect=(prospect, "P"), advocate=(advocate, "A"))
    table = gateway.client.app[ROUTES]
    await table.rebuild()
    keys = [key async for key in gateway.client.app[REDIS].scan_iter(match="gw:route:*")]
    assert len(keys) == len(phones)  # one per participant, spread over the three primaries


async def test_a_primary_killed_mid_traffic_loses_and_doubles_nothing(on_cluster, cluster, db):
    gateway = await on_cluster()
    community = await gateway.community()
    await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    queue_primary = cluster.primary_of("{gw:q}")
    counter = itertools.count()

    async def text() -> tuple[int, str]:
        body = f"text {next(counter)}"
        status, _ = await gateway.sms(PAT, PROXY, body)
        return status, body

    first = await asyncio.gather(*(text() for _ in range(20)))
    cluster.kill(queue_primary)
    during = [await text() for _ in range(20)]  # while the cluster notices and promotes the replica
    cluster.wait_promoted("{gw:q}", queue_primary)
    after = await asyncio.gather(*(text() for _ in range(20)))

    sent = first + during + after
    accepted = [body for status, body in sent if status == 200]
    refused = [body for status, body in sent if status != 200]  # a 5xx: the carrier sends it again
    for body in refused:
        assert (await gateway.sms(PAT, PROXY, body))[0] == 200
    await wait_for(lambda: _relayed_all(gateway, len(sent)), 60, "every text relayed")
    relayed = [b for b in gateway.carrier.bodies_to(ALEX) if b.startswith("text ")]
    cluster.start_node(queue_primary)  # back, as a replica of the promoted one, for the tests after this
    lost = set(b for _, b in sent) - set(relayed)
    duplicated = len(relayed) - len(set(relayed))
    print(f"\nfailover: {len(sent)} sent, {len(accepted)} accepted at once, {len(refused)} refused and retried, "
          f"{len(set(relayed))} relayed, {len(lost)} lost, {duplicated} duplicated")
    assert lost == set() and duplicated == 0


async def _none_unsent(db) -> bool | None:
    return await db.fetchval("SELECT count(*) FROM messages WHERE status IN ('queued', 'submitting')") == 0 or None


async def _relayed_all(gateway, count: int) -> bool | None:
    return len({b for b in gateway.carrier.bodies_to(ALEX) if b.startswith("text ")}) >= count or None


async def test_the_sandbox_and_its_failure_plans_on_the_cluster(on_cluster, db):
    gateway = await on_cluster(kind="sandbox")
    status, _ = await gateway.call("POST", "/sandbox/failures", {"phone": ALEX, "failure": "opted_out"})
    assert status == 200
    community = await gateway.community()
    await gateway.conversation(community["id"])

    async def on_dnd():
        return await db.fetchval("SELECT dnd FROM contacts WHERE phone = $1", ALEX)

    assert await wait_for(on_dnd, what="DND recorded") == "permanent"
    status, body = await gateway.call("GET", "/sandbox/messages?phone=%2B14155552672")
    assert status == 200

"""Restarts and outages on real servers: routes rebuilt, Redis gone, Postgres gone."""

from urllib.parse import parse_qs, urlsplit, urlunsplit


from gateway.routing.table import route_key
from tests.conftest import Servers
from tests.fakes import Proxy
from tests.helpers import ALEX, PAT, PROXY, SAM, wait_for


def _metric(gateway, name: str, **labels) -> float:
    value = gateway.client.app[__import__("gateway.keys", fromlist=["METRICS"]).METRICS].registry.get_sample_value(
        name, labels)
    return value or 0.0


async def test_restart_rebuilds_routes_from_postgres(start_gateway, redis_client, db):
    first = await start_gateway()
    community = await first.community()
    conversation = await first.conversation(community["id"])
    closed = await first.conversation(community["id"], prospect=(SAM, "Sam"))
    await first.call("POST", f"/v1/conversations/{closed['id']}/close")
    await first.client.close()

    # Redis lost everything, and a stale entry for the closed conversation came back from somewhere.
    await redis_client.flushdb()
    await redis_client.hset(route_key(PROXY, SAM), str(closed["id"]), '["+14155552672","Alex","Z9","Sam"]')

    second = await start_gateway()
    await wait_for(lambda: _routes_back(redis_client, conversation["id"]), what="routes rebuilt at start")
    assert await redis_client.hkeys(route_key(PROXY, ALEX)) == [str(conversation["id"])]
    assert await redis_client.exists(route_key(PROXY, SAM)) == 0
    await second.sms(PAT, PROXY, "Still there?")
    assert "Still there?" in await second.delivered_to(ALEX, 3)
    assert _metric(second, "gateway_route_lookup_seconds_count", source="redis") == 1


async def _routes_back(redis_client, conversation_id):
    return await redis_client.hkeys(route_key(PROXY, PAT)) == [str(conversation_id)]


async def test_routing_table_is_rebuilt_after_redis_loses_it(gateway, redis_client):
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await redis_client.flushdb()  # a Redis restart without persistence

    async def rebuilt():
        return await redis_client.hkeys(route_key(PROXY, PAT)) == [str(conversation["id"])]

    await wait_for(rebuilt, what="routing table rebuilt")


async def test_stale_redis_route_to_a_closed_conversation_is_dropped(gateway, db, redis_client):
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    # Closed in Postgres while Redis was unreachable: Redis still has the route.
    await db.execute("UPDATE conversations SET status = 'closed' WHERE id = $1", conversation["id"])
    status, _ = await gateway.sms(PAT, PROXY, "anyone?")
    assert status == 200
    assert await gateway.delivered_to(PAT) == ["This number only relays active conversations."]
    assert await redis_client.exists(route_key(PROXY, PAT)) == 0
    assert await db.fetchval("SELECT count(*) FROM messages WHERE kind = 'relay'") == 0


async def test_redis_miss_falls_back_to_postgres_and_fills(gateway, redis_client):
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await redis_client.delete(route_key(PROXY, PAT))
    await gateway.sms(PAT, PROXY, "hello")
    assert "hello" in await gateway.delivered_to(ALEX, 2)  # the notification may land after it
    assert await redis_client.hkeys(route_key(PROXY, PAT)) == [str(conversation["id"])]




async def test_routing_keeps_working_while_redis_is_down(start_gateway, clean, own_redis, db):
    redis_url = own_redis.start_redis()
    gateway = await start_gateway(servers=Servers(clean.database_url, redis_url, own_redis))
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)

    own_redis.stop()
    status, _ = await gateway.sms(ALEX, PROXY, "Redis is down but this arrives")
    assert status == 200
    relayed = await db.fetchrow("SELECT status FROM messages WHERE kind = 'relay'")
    assert relayed["status"] == "queued"  # durable in Postgres, waiting for the queue to return
    assert _metric(gateway, "gateway_redis_fallbacks_total", operation="lookup") >= 1
    status, body = await gateway.call("GET", "/readyz")  # routing falls back to Postgres: degraded, not unready
    assert status == 200 and body["status"] == "degraded" and body["checks"]["redis"] == "unavailable"
    assert _metric(gateway, "gateway_redis_up") == 0

    own_redis.start_redis()  # back, with its data: the sweeper re-queues what Redis never got
    assert await gateway.delivered_to(PAT, timeout=10) == ["Redis is down but this arrives"]
    await gateway.sms(PAT, PROXY, "and the queue runs again")
    assert "and the queue runs again" in await gateway.delivered_to(ALEX, 2)  # the notification may land after it
    outbound = [m for m in await gateway.messages(conversation["id"]) if m["direction"] == "outbound"]
    assert sorted(m["kind"] for m in outbound) == ["notification", "relay", "relay"]  # both relays in the history


def _via_proxy(url: str, port: int) -> tuple[str, tuple[str, int] | str]:
    """The URL through a local TCP proxy, and where the proxy should connect."""
    parts = urlsplit(url)
    socket_dir = parse_qs(parts.query).get("host", [""])[0]
    upstream = f"{socket_dir}/.s.PGSQL.{parts.port or 5432}" if socket_dir.startswith("/") \
        else (parts.hostname, parts.port or 5432)
    user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{port}", query="")), upstream


async def test_postgres_down_answers_503_and_loses_nothing(start_gateway, clean, db):
    url, upstream = _via_proxy(clean.database_url, 0)
    proxy = Proxy(upstream)
    port = await proxy.start()
    url, _ = _via_proxy(clean.database_url, port)
    gateway = await start_gateway(servers=Servers(url, clean.redis_url, clean.embedded))
    community = await gateway.community()
    await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)

    await proxy.cut()
    sid = "SM" + "c" * 32
    status, text = await gateway.sms(PAT, PROXY, "Sent during the outage", sid=sid)
    assert status == 503 and "unavailable" in text
    assert await db.fetchval("SELECT count(*) FROM messages WHERE carrier_sid = $1", sid) == 0
    status, _ = await gateway.call("GET", "/readyz")
    assert status == 503

    await proxy.start(port)  # Postgres is back; the carrier retries the same message
    status, _ = await gateway.sms(PAT, PROXY, "Sent during the outage", sid=sid)
    assert status == 200
    assert "Sent during the outage" in await gateway.delivered_to(ALEX, 2)  # the notification may land after it
    await proxy.cut()

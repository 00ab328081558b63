"""The Redis client, chosen by the URL: one server (redis://, rediss://, unix://) or a Redis Cluster
(redis+cluster://host:port, rediss+cluster://: any node; the client finds the others and follows the slots).

Every key the gateway keeps shares a hash tag with the keys a script or a transaction touches with it (README
"Running several processes"), so the same code runs on both. Cluster-specific choices: a command on a slot
whose primary is gone is retried twice (the cluster client refreshes its slot map between tries), then fails as
Redis away does, so the gateway falls back to Postgres within about a second instead of waiting out the
failover.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterPipeline, RedisCluster
from redis.backoff import NoBackoff
from redis.asyncio.retry import Retry

from gateway.config import RedisSettings

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}  # -> the scheme the client is given


def is_cluster(url: str) -> bool:
    return urlsplit(url).scheme in CLUSTER_SCHEMES


def connect(config: RedisSettings) -> tuple[aioredis.Redis | RedisCluster, aioredis.ConnectionPool | None]:
    """The client, and the pool to close after it (None for a cluster: the client owns its nodes' pools)."""
    # One immediate retry reconnects a pooled connection that a Redis restart closed; no more, so a Redis that
    # is down falls back to Postgres quickly.
    retry = Retry(NoBackoff(), 1)
    parts = urlsplit(config.url)
    if parts.scheme in CLUSTER_SCHEMES:
        url = urlunsplit(parts._replace(scheme=CLUSTER_SCHEMES[parts.scheme]))
        client = RedisCluster.from_url(url, max_connections=config.max_connections, decode_responses=True,
                                       socket_timeout=config.timeout, socket_connect_timeout=config.timeout,
                                       retry=Retry(NoBackoff(), 2))
        return client, None
    # The pool blocks: in a burst beyond max_connections a call waits (up to the timeout) for a free connection
    # instead of failing.
    connections = aioredis.BlockingConnectionPool.from_url(
        config.url, max_connections=config.max_connections, timeout=config.timeout, decode_responses=True,
        socket_timeout=config.timeout, socket_connect_timeout=config.timeout, retry=retry)
    return aioredis.Redis(connection_pool=connections, retry=retry), connections


def script_on(pipe, script, keys: list, args: list) -> None:
    """Add a registered Lua script's call to a pipeline. One server's pipeline loads the script first if Redis
    lacks it; a cluster's pipeline cannot (each node has its own script cache, and a promoted replica starts
    empty), so it sends the script's text."""
    if isinstance(pipe, ClusterPipeline):
        pipe.eval(script.script, len(keys), *keys, *args)
    else:
        pipe.scripts.add(script)
        pipe.evalsha(script.sha, len(keys), *keys, *args)

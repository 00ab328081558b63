"""Every typed application key, one per resource; nothing else."""

from __future__ import annotations

import aiohttp
import asyncpg
import redis.asyncio as aioredis
from aiohttp import web

from gateway.carriers import Carriers
from gateway.config import Config
from gateway.context import Context
from gateway.ops.metrics import Metrics
from gateway.ops.tasks import Supervisor

CONFIG = web.AppKey("config", Config)
METRICS = web.AppKey("metrics", Metrics)
POOL = web.AppKey("pool", asyncpg.Pool)
REDIS = web.AppKey("redis", aioredis.Redis)
HTTP = web.AppKey("http", aiohttp.ClientSession)
CARRIERS = web.AppKey("carriers", Carriers)  # every configured carrier, by name
CONTEXT = web.AppKey("context", Context)
TASKS = web.AppKey("tasks", Supervisor)

"""Driving a gateway as its users do: the API with a token, signed webhooks as the carrier sends them."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Awaitable, Callable

import asyncpg
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from gateway.carriers.twilio import signature
from gateway.config import Config
from gateway.storage.messages import StoredOutbound
from gateway.keys import DISPATCHER, LINE_TYPES, METRICS, OUTBOX, POOL, REDIS, ROUTES, STATEMENTS
from gateway.messaging.dispatch import Dispatcher
from gateway.messaging.outbox import Outbox
from gateway.ops.metrics import Metrics
from gateway.routing.table import RouteTable
from gateway.storage.batching import Statements
from gateway.verification.line_types import LineTypes
from tests.fakes import ACCOUNT_SID, FakeTwilio

TOKEN = "test-api-token"
PROXY = "+14155550100"
PROXY_2 = "+14155550101"
PROXY_3 = "+14155550102"
PAT = "+14155552671"  # prospect
ALEX = "+14155552672"  # advocate
SAM = "+14155552673"  # a second prospect


async def wait_for(check: Callable[[], Awaitable[object]], timeout: float = 5.0, what: str = "condition"):
    """Poll until check() returns something truthy; fail with `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            # A check that never answers (a client stuck on a dead server) fails the wait too, rather than the run.
            result = await asyncio.wait_for(check(), max(deadline - time.monotonic(), 0) + 5.0)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}: the check itself did not answer") from None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class Gateway:
    def __init__(self, client: TestClient, config: Config, carrier: FakeTwilio) -> None:
        self.client = client
        self.config = config
        self.carrier = carrier

    # The running gateway's resources, for tests that look inside it.
    @property
    def pool(self) -> asyncpg.Pool:
        return self.client.app[POOL]

    @property
    def redis(self) -> aioredis.Redis:
        return self.client.app[REDIS]

    @property
    def metrics(self) -> Metrics:
        return self.client.app[METRICS]

    @property
    def outbox(self) -> Outbox:
        return self.client.app[OUTBOX]

    @property
    def line_types(self) -> LineTypes:
        return self.client.app[LINE_TYPES]

    @property
    def dispatcher(self) -> Dispatcher:
        return self.client.app[DISPATCHER]

    @property
    def statements(self) -> Statements:
        return self.client.app[STATEMENTS]

    @property
    def routes(self) -> RouteTable:
        return self.client.app[ROUTES]

    @property
    def token(self) -> str:
        return self.config.per_carrier[self.config.carrier.name].auth_token

    async def call(self, method: str, path: str, json=None, token: str | None = TOKEN, **kwargs):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.client.request(method, path, json=json, headers=headers, **kwargs) as response:
            body = await response.json() if response.content_type == "application/json" else await response.text()
            return response.status, body

    async def community(self, numbers=(PROXY,), name: str = "Acme Housing", **extra) -> dict:
        # Live and without verification unless a test asks: most tests are about other rules.
        status, body = await self.call("POST", "/v1/communities", {"name": name, "numbers": list(numbers),
                                                                    "mode": "live", "require_verification": False,
                                                                    **extra})
        assert status == 201, body
        return body

    async def conversation(self, community_id: int, prospect=(PAT, "Pat"), advocate=(ALEX, "Alex"),
                           message: str = "Is housing included?") -> dict:
        status, body = await self.call("POST", "/v1/conversations", {
            "community_id": community_id, "prospect": {"phone": prospect[0], "name": prospect[1]},
            "advocate": {"phone": advocate[0], "name": advocate[1]}, "message": message})
        assert status == 201, body
        return body

    async def sms(self, sender: str, to: str, body: str, sid: str | None = None, signed: bool = True,
                  sign_with: str | None = None, extra: dict | None = None):
        """POST an inbound message the way the carrier does; returns (status, text)."""
        form = {"MessageSid": sid or "SM" + secrets.token_hex(16), "SmsSid": sid or "", "AccountSid": ACCOUNT_SID,
                "From": sender, "To": to, "Body": body, "NumMedia": "0", "NumSegments": "1",
                "FromCountry": "US", "ToCountry": "US", **(extra or {})}
        return await self._signed("/webhooks/twilio/sms", form, signed, sign_with)

    async def status(self, sid: str, status: str, mid: int | None = None, error_code: str | None = None):
        form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID, "SmsStatus": status}
        if error_code:
            form["ErrorCode"] = error_code
        path = "/webhooks/twilio/status" + (f"?mid={mid}" if mid is not None else "")
        return await self._signed(path, form, True, None)

    async def _signed(self, path: str, form: dict, signed: bool, sign_with: str | None):
        url = self.config.public_url + path
        headers = {"X-Twilio-Signature": signature(sign_with or self.token, url, list(form.items()))} if signed else {}
        async with self.client.post(path, data=form, headers=headers) as response:
            return response.status, await response.text()

    async def messages(self, conversation_id: int) -> list[dict]:
        status, body = await self.call("GET", f"/v1/conversations/{conversation_id}/messages")
        assert status == 200, body
        return body["messages"]

    async def message(self, message_id: int) -> dict:
        status, body = await self.call("GET", f"/v1/messages/{message_id}")
        assert status == 200, body
        return body

    async def delivered_to(self, phone: str, count: int = 1, timeout: float = 5.0) -> list[str]:
        """Wait until the carrier has accepted `count` messages to phone; returns their bodies."""
        async def check():
            bodies = self.carrier.bodies_to(phone)
            return bodies if len(bodies) >= count else None

        return await wait_for(check, timeout, f"{count} message(s) to {phone}")


async def raw_request(port: int, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send bytes no HTTP client would (a 0xE9 byte in a header, a bad encoding); returns the status and body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head + b"\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head_part, _, payload = answer.partition(b"\r\n\r\n")
    return int(head_part.split(b" ", 2)[1]), payload


async def sql_functions(db: asyncpg.Connection) -> dict[str, str]:
    """The body of each function the migrations left in Postgres, by name (overloads joined): where a query of
    sql/queries/ may leave its writing (end_conversations, migration 0038), for the tests that read the SQL."""
    rows = await db.fetch("SELECT proname, string_agg(prosrc, E'\\n') AS body FROM pg_proc "
                          "WHERE pronamespace = 'public'::regnamespace GROUP BY proname")
    return {row["proname"]: row["body"] for row in rows}


async def outbound_notification(db, body: str = "hello") -> tuple[int, StoredOutbound]:
    """A community (live) and one notification to ALEX from PROXY stored as queued in it, not handed to Redis:
    (community id, the stored message)."""
    from gateway.storage import messages
    from gateway.vocabulary import MessageKind, Priority

    community_id = await db.fetchval("INSERT INTO communities (name, mode) VALUES ('Acme', 'live') RETURNING id")
    stored = await messages.insert_outbound_message(db, community_id=community_id, conversation_id=None,
                                                    kind=MessageKind.NOTIFICATION, priority=Priority.RELAY,
                                                    from_number=PROXY, to_number=ALEX, body=body, segments=1)
    return community_id, stored


"""Several real gateway processes on one Postgres and one Redis: a conversation through both, a SIGKILL mid-send."""

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from gateway.storage import messages
from gateway.vocabulary import MessageKind, MessageStatus, Priority
from tests.conftest import free_port
from tests.fakes import ACCOUNT_SID, AUTH_TOKEN, Reply, unwrap
from tests.helpers import ALEX, PAT, PROXY, TOKEN, wait_for
from tests.test_queue import queue_empty

ROOT = Path(__file__).resolve().parent.parent


class Process:
    """`python run.py` with the test's servers and fake carrier, on a port of its own."""

    def __init__(self, clean, carrier_url: str, config: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "TWILIO_", "CARRIER"))}
        self.env.update({"DATABASE_URL": clean.database_url, "REDIS_URL": clean.redis_url,
                         "GATEWAY_PORT": str(self.port), "GATEWAY_API_TOKEN": TOKEN, "CARRIER": "twilio",
                         "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                         "TWILIO_API_BASE": carrier_url, "LINE_TYPE_LOOKUP": "sandbox",
                         "GATEWAY_VERIFICATION_SECRET": "v" * 16, "GATEWAY_WEBHOOK_SECRET": "w" * 16})
        if config:
            self.env["GATEWAY_CONFIG"] = str(config)
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> "Process":
        self.process = await asyncio.create_subprocess_exec(sys.executable, "run.py", cwd=ROOT, env=self.env,
                                                            stdout=asyncio.subprocess.DEVNULL,
                                                            stderr=asyncio.subprocess.DEVNULL)
        async with aiohttp.ClientSession() as session:
            for _ in range(150):
                try:
                    async with session.get(self.url + "/readyz") as response:
                        if response.status == 200:
                            return self
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("the gateway process never became ready")

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process and self.process.returncode is None:
            self.process.send_signal(sig)
            return await asyncio.wait_for(self.process.wait(), 20)
        return self.process.returncode if self.process else 0


@pytest.fixture
async def processes():
    started: list[Process] = []
    yield started
    for process in started:
        await process.stop(signal.SIGKILL)


async def _call(process: Process, method: str, path: str, payload=None):
    async with aiohttp.ClientSession() as session:
        async with session.request(method, process.url + path, json=payload,
                                   headers={"Authorization": f"Bearer {TOKEN}"}) as response:
            return response.status, await response.json()


async def _sms(process: Process, gateway_helper, sender: str, body: str, sid: str):
    """A signed inbound webhook, as the carrier would send it to this process."""
    from gateway.carriers.twilio import signature
    form = {"MessageSid": sid, "From": sender, "To": PROXY, "Body": body, "AccountSid": ACCOUNT_SID}
    url = process.url + "/webhooks/twilio/sms"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=form, headers={
                "X-Twilio-Signature": signature(AUTH_TOKEN, url, list(form.items()))}) as response:
            return response.status


async def test_a_conversation_through_two_processes(clean, fake_twilio, processes, db, redis_client):
    first = await Process(clean, fake_twilio.url).start()
    second = await Process(clean, fake_twilio.url).start()
    processes.extend([first, second])
    status, community = await _call(first, "POST", "/v1/communities", {
        "name": "Acme Housing", "numbers": [PROXY], "mode": "live", "require_verification": False})
    assert status == 201
    status, conversation = await _call(second, "POST", "/v1/conversations", {
        "community_id": community["id"], "prospect": {"phone": PAT, "name": "Pat"},
        "advocate": {"phone": ALEX, "name": "Alex"}, "message": "Is parking included?"})
    assert status == 201
    # Each inbound message goes to one process or the other; the carrier retries one on the other.
    assert await _sms(first, None, ALEX, "Yes, one space.", "SM" + "1" * 32) == 200
    assert await _sms(second, None, ALEX, "Yes, one space.", "SM" + "1" * 32) == 200
    assert await _sms(second, None, PAT, "Thanks!", "SM" + "2" * 32) == 200
    await wait_for(lambda: _sent(fake_twilio, 3), timeout=10, what="three messages sent")
    # Every send recorded and the queue empty: nothing is left that could still go out (a duplicate shows now).
    await wait_for(lambda: _outbound_accepted(db, 3), timeout=10, what="every send recorded")
    await wait_for(lambda: queue_empty(redis_client), what="the queue empty")
    assert len(fake_twilio.requests) == 3
    assert sorted(fake_twilio.bodies_to(PAT)) == ["Yes, one space."]  # relayed once, though received twice
    assert [b for b in fake_twilio.bodies_to(ALEX) if b == "Thanks!"] == ["Thanks!"]
    assert await db.fetchval("SELECT count(*) FROM messages WHERE kind = 'relay'") == 2
    for process in (first, second):
        assert await process.stop() == 0


async def _outbound_accepted(db, count):
    return await db.fetchval(
        "SELECT count(*) FROM messages WHERE direction = 'outbound' AND status = 'accepted'") == count


async def _sent(fake, count):
    return len(fake.sent) >= count


async def test_killed_mid_send_every_queued_message_goes_out(clean, fake_twilio, processes, db, tmp_path):
    config = tmp_path / "gateway.toml"
    config.write_text((ROOT / "config.toml").read_text()
                      .replace("lease_seconds = 60", "lease_seconds = 3")
                      .replace("send_timeout = 10.0", "send_timeout = 2.0")
                      .replace("per_number_rate = 1.0", "per_number_rate = 1000.0")
                      .replace("sweep_interval = 15.0", "sweep_interval = 0.5")
                      .replace("sweep_after = 30.0", "sweep_after = 0.5"))
    first = await Process(clean, fake_twilio.url, config).start()
    processes.append(first)
    status, community = await _call(first, "POST", "/v1/communities", {
        "name": "Acme Housing", "numbers": [PROXY], "mode": "live", "require_verification": False})
    fake_twilio.then(*[Reply(delay=1.5)] * 4)  # the first sends hang at the carrier when the process dies
    ids = []  # stored as queued but never handed to Redis: the sweeper finds them
    for i in range(12):
        message = await messages.insert_outbound_message(
            db, community_id=community["id"], conversation_id=None, kind=MessageKind.NOTIFICATION,
            priority=Priority.RELAY, from_number=PROXY, to_number=f"+1415555{3000 + i}", body=f"m{i}", segments=1)
        assert message.status == MessageStatus.QUEUED
        ids.append(message.id)
    await wait_for(lambda: _requests(fake_twilio, 1), what="sends in flight")
    await first.stop(signal.SIGKILL)
    # The window: sends that reached the carrier but that the dead process never recorded as accepted.
    reached = {unwrap(r["Body"]) for r in fake_twilio.requests}
    recorded = {unwrap(r["body"]) for r in await db.fetch("SELECT body FROM messages WHERE status = 'accepted'")}
    window = reached - recorded

    second = await Process(clean, fake_twilio.url, config).start()
    processes.append(second)
    await wait_for(lambda: _all_accepted(db, ids), timeout=20, what="every queued message sent")
    bodies = [unwrap(m["Body"]) for m in fake_twilio.sent]  # first texts to these phones identify the sender
    assert set(bodies) == {f"m{i}" for i in range(12)}
    # Only a send whose answer died with the process can go twice (the documented window).
    duplicates = {body for body in bodies if bodies.count(body) > 1}
    assert duplicates <= window and len(bodies) - 12 <= len(window)


async def _requests(fake, count):
    return len(fake.requests) >= count


async def _all_accepted(db, ids):
    return await db.fetchval("SELECT count(*) FROM messages WHERE id = ANY($1) AND status = 'accepted'", ids) == len(ids)

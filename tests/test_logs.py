"""What the real process prints: every line a JSON object through structlog, and no secret, body, code,
full phone number or raw request bytes in any of them, whoever logs it (our code, aiohttp, asyncio)."""

import asyncio
import base64
import json
import signal
import sys

import aiohttp

from gateway.carriers.twilio import signature
from tests.conftest import free_port
from tests.helpers import ALEX, PAT, PROXY, wait_for
from tests.test_process import ROOT, _env

SECRET = "s3cretTOKENvalue0123456789"
PHONES = [PAT, ALEX, PROXY, "+14155552699"]


async def _raw(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await reader.read(4096)
    writer.close()
    return answer


class Process:
    """`python run.py` with its stdout and stderr kept, driven over HTTP."""

    def __init__(self, clean, **env) -> None:
        self.port = free_port()
        self.env = _env(clean, GATEWAY_PORT=str(self.port), GATEWAY_API_TOKEN=SECRET, **env)
        self.base = f"http://127.0.0.1:{self.port}"
        self.headers = {"Authorization": f"Bearer {SECRET}"}

    async def __aenter__(self):
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "run.py", cwd=ROOT, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        self.session = aiohttp.ClientSession()

        async def ready():
            try:
                async with self.session.get(self.base + "/readyz") as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        await wait_for(ready, 30, "the gateway to be ready")
        return self

    async def call(self, method: str, path: str, body=None, headers=None):
        async with self.session.request(method, self.base + path, json=body,
                                        headers=headers or self.headers) as response:
            return response.status, await response.text()

    async def stop(self) -> list[str]:
        """SIGTERM, then every line printed on stdout and stderr."""
        await self.session.close()
        self.process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(self.process.communicate(), 30)
        return stdout.decode("utf-8", "replace").splitlines() + stderr.decode("utf-8", "replace").splitlines()

    async def __aexit__(self, *exc):
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        if not self.session.closed:
            await self.session.close()


def _all_json(lines: list[str]) -> list[dict]:
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"a line not through structlog: {line!r}") from None
        assert isinstance(record, dict), line
        records.append(record)
    return records


async def test_malformed_requests_log_json_lines_without_the_token(clean):
    async with Process(clean) as gateway:
        bad = [
            # an invalid byte in a header value, after the token
            b"GET /v1/communities/1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + SECRET.encode()
            + b"\r\nX-Twilio-Signature: " + SECRET.encode() + b"\r\nX-Bad: a\x01b\r\n\r\n",
            # a control character in the header line holding the token
            b"GET /v1/communities/1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + SECRET.encode()
            + b"\x00\r\n\r\n",
            # a broken request line, the token in what follows
            b"GET /v1/\x00communities HTTP/1.1\r\nAuthorization: Bearer " + SECRET.encode() + b"\r\n\r\n",
            b"NOT A REQUEST " + SECRET.encode() + b"\r\n\r\n",
        ]
        for request in bad:
            answer = await _raw(gateway.port, request)
            assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request"), answer
        lines = await gateway.stop()
    records = _all_json(lines)
    assert any("Error handling request" in record["event"] for record in records), lines
    for line in lines:
        assert SECRET not in line
        assert "\\x01" not in line and "\\u0001" not in line


async def test_no_phone_body_code_or_sid_in_any_line(clean):
    body_text = "Parking is ours, call +14155552699 tonight"
    long_sid = "SM" + "x" * 500 + "\x1b[31m"
    async with Process(clean) as gateway:
        status, text = await gateway.call("POST", "/v1/communities", {
            "name": "Maple Court", "numbers": [PROXY], "mode": "live", "require_verification": False})
        assert status == 201, text
        community_id = json.loads(text)["id"]
        status, text = await gateway.call("POST", "/v1/conversations", {
            "community_id": community_id, "prospect": {"phone": PAT, "name": "Pat"},
            "advocate": {"phone": ALEX, "name": "Alex"}, "message": body_text})
        assert status == 201, text
        conversation = json.loads(text)
        status, text = await gateway.call("DELETE", f"/v1/communities/{community_id}/dnd/{PAT}")
        assert status in (204, 404), text
        status, text = await gateway.call("DELETE", f"/v1/communities/{community_id}/dnd/%2B14155552699")
        assert status in (204, 404), text
        status, text = await gateway.call("POST", f"/v1/communities/{community_id}/allow-list/{ALEX}/x")
        assert status in (404, 405), text
        status, text = await gateway.call("POST", "/sandbox/inbound", {"from": ALEX, "to": PROXY, "body": body_text})
        assert status == 200, text
        status, text = await gateway.call("GET", f"/sandbox/messages?phone=%2B{PAT[1:]}")
        assert status == 200, text
        # a status callback with a caller-chosen sid and error code, signed as the sandbox carrier signs
        form = {"MessageSid": long_sid, "MessageStatus": "failed", "ErrorCode": "30003" + "9" * 300}
        url = gateway.base + "/webhooks/twilio/status"
        headers = {"X-Twilio-Signature": signature("sandbox", url, list(form.items()))}
        async with gateway.session.post(url, data=form, headers=headers) as response:
            assert response.status < 500
        reason = f"moved away, new number {PAT} " + "y" * 150
        status, text = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/close", {"reason": reason})
        assert status == 200, text
        lines = await gateway.stop()
    records = _all_json(lines)
    events = {record["event"] for record in records}
    assert {"conversation_started", "conversation_closed", "request_refused"} <= events, events
    for line in lines:
        for phone in PHONES:
            assert phone not in line and phone[1:] not in line, line
        assert "Parking is ours" not in line, line
        assert "x" * 100 not in line and "y" * 100 not in line and "9" * 100 not in line, line
        assert SECRET not in line, line
    for record in records:
        for value in record.values():
            if isinstance(value, str):
                assert not any(ord(c) < 32 for c in value), record


async def test_no_media_url_or_signature_in_any_line(clean):
    """Issue 14: a picture's path through the real process logs neither the carrier's media URL nor a signed URL's
    signature (the request log writes the path without it)."""
    picture = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"p" * 500).decode()
    async with Process(clean) as gateway:
        status, text = await gateway.call("POST", "/v1/communities", {
            "name": "Maple Court", "numbers": [PROXY], "mode": "live", "require_verification": False})
        status, text = await gateway.call("POST", "/v1/conversations", {
            "community_id": json.loads(text)["id"], "prospect": {"phone": PAT, "name": "Pat"},
            "advocate": {"phone": ALEX, "name": "Alex"}, "message": "Hello"})
        status, text = await gateway.call("POST", "/sandbox/inbound", {
            "from": PAT, "to": PROXY, "body": "", "media": [{"content_type": "image/png", "data": picture}]})
        assert status == 200, text

        async def shown():
            _, screen = await gateway.call("GET", f"/sandbox/messages?phone=%2B{ALEX[1:]}")
            return [url for m in json.loads(screen)["messages"] for url in m["media_urls"]]
        [signed] = await wait_for(shown, 10, "the MMS on Alex's screen")
        _, messages = await gateway.call("GET", "/v1/conversations/1/messages")
        [carrier_url] = [url for m in json.loads(messages)["messages"] for url in m["media_urls"]]
        signature_part = signed.rsplit("/", 1)[1]
        for url in (signed, signed[:-2] + "xx"):
            async with gateway.session.get(url) as response:
                assert response.status in (200, 403)
        lines = await gateway.stop()
    records = _all_json(lines)
    assert [r["path"] for r in records if r["event"] == "media_url_refused"] == [signed.rsplit("/", 1)[0][
        len(gateway.base):] + "/…"]
    for line in lines:
        assert signature_part not in line and signature_part[:-2] not in line, line
        assert carrier_url.rsplit("/", 1)[1] not in line, line

"""A lean HTTP/1.1 client and fake carrier for the benchmark, so the harness leaves the CPU to the gateway.

The benchmark's load generator and fake carrier share the box with the gateway; written with aiohttp they
took about 0.75 ms of CPU per relayed message, a sixth of the whole. These speak just enough HTTP/1.1 over
asyncio streams (keep-alive, Content-Length bodies) to play the carrier's side of the wire.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from typing import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit

_KEY = re.compile(rb"bench\+(k\d+)")  # the relayed body, form-encoded ("bench k12"); identification may wrap it


class Client:
    """One keep-alive connection; post() sends a form and returns (status, seconds until the answer)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, form: list[tuple[str, str]], headers: dict[str, str]) -> int:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        body = urlencode(form).encode()
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{head}"
                           f"Content-Type: application/x-www-form-urlencoded\r\n"
                           f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        status_line, length = await _read_head(self._reader)
        await self._reader.readexactly(length)
        return int(status_line.split(b" ", 2)[1])

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()


async def _read_head(reader: asyncio.StreamReader) -> tuple[bytes, int]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, rest = head.partition(b"\r\n")
    found = re.search(rb"(?i)content-length:\s*(\d+)", rest)
    return status_line, int(found.group(1)) if found else 0


class FakeCarrier:
    """Answers every Messages API POST at once with 201 and a new sid; notes when each bench key arrived.

    With sign (a function (url, form) -> X-Twilio-Signature), it also calls back as Twilio does: "sent", then
    "delivered", to the StatusCallback of each message, from `workers` keep-alive connections; a message's full
    cycle ends when the gateway has answered its "delivered" callback (completed), and each callback's answer
    time is kept (callback_latencies)."""

    def __init__(self, sign: Callable[[str, list], str] | None = None, workers: int = 32) -> None:
        self.arrived: dict[str, float] = {}
        self.completed: dict[str, float] = {}
        self.callback_latencies: list[float] = []
        self._sids = itertools.count(1)
        self._server: asyncio.Server | None = None
        self._sign = sign
        self._statuses: asyncio.Queue = asyncio.Queue()
        self._workers = [asyncio.ensure_future(self._call_back()) for _ in range(workers if sign else 0)]

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for worker in self._workers:
            worker.cancel()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                _, length = await _read_head(reader)
                body = await reader.readexactly(length)
                found = _KEY.search(body)
                sid = "SMc%031d" % next(self._sids)  # unlike the inbound sids
                if found:
                    key = found.group(1).decode()
                    self.arrived.setdefault(key, time.perf_counter())
                    if self._sign:
                        self._statuses.put_nowait((key, sid, dict(parse_qsl(body.decode()))["StatusCallback"]))
                answer = b'{"sid": "%s", "status": "queued"}' % sid.encode()
                writer.write(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(answer), answer))
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def _call_back(self) -> None:
        clients: dict[str, Client] = {}
        try:
            while True:
                key, sid, url = await self._statuses.get()
                parts = urlsplit(url)
                client = clients.setdefault(parts.netloc, Client(url))
                for status in ("sent", "delivered"):
                    form = [("MessageSid", sid), ("MessageStatus", status), ("SmsStatus", status),
                            ("AccountSid", _ACCOUNT)]
                    started = time.perf_counter()
                    answer = await client.post(f"{parts.path}?{parts.query}", form,
                                               {"X-Twilio-Signature": self._sign(url, form)})
                    self.callback_latencies.append(time.perf_counter() - started)
                    if answer != 200:
                        raise SystemExit(f"a status callback answered {answer}")
                self.completed[key] = time.perf_counter()
        finally:
            for client in clients.values():
                await client.close()


_ACCOUNT = "AC" + "0" * 31 + "1"  # the bench's account (bench/run.py SID)

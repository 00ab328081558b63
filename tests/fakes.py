"""A local HTTP server that speaks Twilio's Messages API, and a TCP proxy that can cut a connection."""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web

from tests.fakes_media import CarrierMedia

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "test-auth-token"


@dataclass
class Reply:
    """What the fake answers to one send: 201 with a sid, or an error in Twilio's shape."""

    status: int = 201
    code: int | None = None
    message: str = ""
    retry_after: str | None = None
    delay: float = 0.0
    sid: str | None = None  # the sid to answer with, so a test can send callbacks for it beforehand


@dataclass
class FakeTwilio:
    sent: list[dict] = field(default_factory=list)  # the form of every accepted message
    requests: list[dict] = field(default_factory=list)  # every request, accepted or not
    replies: deque = field(default_factory=deque)
    url: str = ""
    # Its inbound media (MediaUrlN), on the same server: tests/fakes_media.py.
    media: CarrierMedia = field(default_factory=lambda: CarrierMedia(ACCOUNT_SID, AUTH_TOKEN))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self.messages)
        self.media.add_routes(app)
        return app

    def then(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    async def messages(self, request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if request.match_info["sid"] != ACCOUNT_SID or request.headers.get("Authorization") != expected:
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        posted = await request.post()
        urls = posted.getall("MediaUrl", [])  # repeated, one per picture
        form = dict(posted) | ({"MediaUrl": urls} if urls else {})
        self.requests.append(form)
        reply = self.replies.popleft() if self.replies else Reply()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status != 201:
            headers = {"Retry-After": reply.retry_after} if reply.retry_after else {}
            body = {"code": reply.code, "message": reply.message, "more_info": "", "status": reply.status}
            return web.json_response(body, status=reply.status, headers=headers)
        sid = reply.sid or "SM" + secrets.token_hex(16)
        self.sent.append({**form, "sid": sid})
        return web.json_response({"sid": sid, "status": "queued", "to": form["To"], "from": form["From"],
                                  "body": form.get("Body", ""), "num_segments": "1"}, status=201)

    def raw_bodies_to(self, phone: str) -> list[str]:
        # A WhatsApp template has no Body (ContentSid instead); WhatsApp's To is whatsapp:+E164, never phone.
        return [m.get("Body", "") for m in self.sent if m["To"] == phone]

    def bodies_to(self, phone: str) -> list[str]:
        """What was texted, with the sender identification taken off the one text that carries it: a phone is
        identified once, so a second identified text stays wrapped and fails the test (tests of the
        identification itself use raw_bodies_to)."""
        bodies = self.raw_bodies_to(phone)
        identified = next((i for i, body in enumerate(bodies) if unwrap(body) != body), None)
        if identified is not None:
            bodies[identified] = unwrap(bodies[identified])
        return bodies


# What the tests' community ("Acme Housing", the default sender_id_template the README documents) puts around
# its first text to a phone, written out by hand rather than derived from the gateway's template, so that a
# wrong template or a wrong name fails the tests that compare bodies.
IDENTIFIED_BEFORE = "Acme Housing: "
IDENTIFIED_AFTER = " Reply STOP to opt out."


# Our texts that name the community already (a group's intro, a member's "added" text, a new conversation's "Pat via
# Acme Housing: ...", after any code) get only the opt-out words: the name is not said twice (begin_send.sql).
NAMED = re.compile(r"^(#[A-Z][0-9]{1,3} )?(Acme Housing( group text with |: you were added )|[^:]* via Acme Housing: )")


def unwrap(body: str) -> str:
    """The text inside the tests' community's sender identification; any other body unchanged."""
    if NAMED.match(body) and body.endswith(IDENTIFIED_AFTER):
        return body[:-len(IDENTIFIED_AFTER)]
    if body.startswith(IDENTIFIED_BEFORE) and body.endswith(IDENTIFIED_AFTER) \
            and len(body) > len(IDENTIFIED_BEFORE) + len(IDENTIFIED_AFTER):
        return body[len(IDENTIFIED_BEFORE):-len(IDENTIFIED_AFTER)]
    return body


class Proxy:
    """Forwards TCP connections to a server; cut() drops them all and refuses new ones, as an outage would."""

    def __init__(self, upstream: tuple[str, int] | str) -> None:
        self.upstream = upstream
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task] = set()

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port or self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def cut(self) -> None:
        self._server.close()
        await self._server.wait_closed()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if isinstance(self.upstream, str):
                up_reader, up_writer = await asyncio.open_unix_connection(self.upstream)
            else:
                up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            sink.transport.abort()
            self._writers.discard(sink)


@dataclass
class FakeLookup:
    """A local server speaking Twilio's Lookup v2 API: GET /v2/PhoneNumbers/{number}?Fields=line_type_intelligence."""

    types: dict[str, str] = field(default_factory=dict)  # number -> line_type_intelligence.type
    invalid: set[str] = field(default_factory=set)
    status: int = 200
    delay: float = 0.0
    requests: list[str] = field(default_factory=list)
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v2/PhoneNumbers/{number}", self.lookup)
        return app

    async def lookup(self, request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        if request.query.get("Fields") != "line_type_intelligence":
            return web.json_response({"code": 20001, "message": "Fields missing", "status": 400}, status=400)
        number = request.match_info["number"]
        self.requests.append(number)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.status != 200:
            return web.json_response({"code": 20500, "message": "Internal error", "status": self.status},
                                     status=self.status)
        valid = number not in self.invalid
        intelligence = {"type": self.types.get(number, "mobile"), "carrier_name": "Fake Wireless",
                        "mobile_country_code": "310", "mobile_network_code": "456", "error_code": None}
        return web.json_response({"calling_country_code": "1", "country_code": "US", "phone_number": number,
                                  "national_format": number, "valid": valid, "validation_errors": [],
                                  "line_type_intelligence": intelligence if valid else None,
                                  "url": str(request.url)})


@dataclass
class HookReceiver:
    """A community's own server: records the signed JSON POSTs it gets (body and headers); fails the first
    `failures` of them."""

    received: list[dict] = field(default_factory=list)
    failures: int = 0
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self.hook)
        return app

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.text()
        self.received.append({"body": body, "headers": dict(request.headers)})
        if self.failures:
            self.failures -= 1
            return web.Response(status=500)
        return web.Response(status=204)

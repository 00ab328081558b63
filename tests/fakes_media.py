"""A carrier's media, as Twilio serves it: GET on the Media resource of its API (Basic auth required) answers with a
redirect to the file on another origin (which refuses credentials: a client must not carry them there), and DELETE on the resource removes it. Faults on demand: a file may
answer 404 or 500 a number of times first, or answer slowly."""

from __future__ import annotations

import asyncio
import base64
import secrets
from dataclasses import dataclass, field

from aiohttp import web

MEDIA_PATH = "/2010-04-01/Accounts/{sid}/Messages/{mm}/Media/{me}"


@dataclass
class File:
    content: bytes
    content_type: str
    failures: list[int] = field(default_factory=list)  # statuses to answer first, one per fetch
    delays: list[float] = field(default_factory=list)  # seconds before the answer, one per fetch (then none)
    location: str | None = None  # where the Media resource redirects instead of the file (a hostile redirect)
    gate: asyncio.Event | None = None  # the file is served once this is set (a fetch held open)


@dataclass
class CarrierMedia:
    account_sid: str
    auth_token: str
    files: dict[str, File] = field(default_factory=dict)  # ME sid -> file
    started: list[str] = field(default_factory=list)  # ME sids whose file was asked for (the redirect followed)
    fetches: list[str] = field(default_factory=list)  # ME sids whose file was served whole, in order
    unauthorized: int = 0  # fetches refused for lacking the credentials
    deleted: list[str] = field(default_factory=list)
    url: str = ""

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(MEDIA_PATH, self.resource)
        app.router.add_delete(MEDIA_PATH + ".json", self.delete)
        app.router.add_get("/files/{me}", self.file)

    def add(self, content: bytes, content_type: str = "image/jpeg", **faults) -> tuple[str, str]:
        """A file the carrier holds: (its MediaUrl, as an inbound webhook names it; its content type)."""
        me = "ME" + secrets.token_hex(16)
        self.files[me] = File(content, content_type, **faults)
        return f"{self.url}/2010-04-01/Accounts/{self.account_sid}/Messages/MM{secrets.token_hex(16)}/Media/{me}", \
            content_type

    def _authorized(self, request: web.Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.match_info["sid"] == self.account_sid and request.headers.get("Authorization") == expected

    async def resource(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            self.unauthorized += 1
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        me = request.match_info["me"]
        if me not in self.files or me in self.deleted:
            return web.json_response({"code": 20404, "status": 404}, status=404)
        if self.files[me].location:
            raise web.HTTPTemporaryRedirect(self.files[me].location)
        # Elsewhere, as Twilio's files are: another origin (localhost for 127.0.0.1), which gets no credentials.
        raise web.HTTPTemporaryRedirect(f"{self.url.replace('127.0.0.1', 'localhost')}/files/{me}")

    async def file(self, request: web.Request) -> web.Response:
        me = request.match_info["me"]
        if "Authorization" in request.headers:
            return web.Response(status=400, text="the file's own URL takes no credentials")
        found = self.files[me]
        self.started.append(me)
        if found.delays:
            await asyncio.sleep(found.delays.pop(0))
        if found.gate is not None:
            await found.gate.wait()
        if found.failures:
            return web.Response(status=found.failures.pop(0))
        self.fetches.append(me)
        return web.Response(body=found.content, content_type=found.content_type)

    async def delete(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"code": 20003, "status": 401}, status=401)
        self.deleted.append(request.match_info["me"])
        return web.Response(status=204)

"""A local HTTP server that speaks Bandwidth's Messaging API v2 (create message), its synchronous Phone Number Lookup
(v2) and its OAuth2 token endpoint, and callbacks as Bandwidth posts them: JSON arrays of events with the
application's HTTP Basic credentials."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from tests.fakes import unwrap

ACCOUNT_ID = "9900000"
APPLICATION_ID = "93de2206-9669-4e07-948d-329f4b722ee2"
USERNAME = "api-user"  # a legacy API user (HTTP Basic)
PASSWORD = "api-password"
CLIENT_ID = "api-credential-client"  # API Credentials (OAuth2 client credentials)
CLIENT_SECRET = "api-credential-secret"
CALLBACK_USERNAME = "bw-callbacks"
CALLBACK_PASSWORD = "callback-password-0123456789"
PAYLOADS = Path(__file__).parent / "payloads" / "bandwidth"
PATH = "/webhooks/bandwidth/messages"


def settings(api_base: str, legacy: bool = False) -> dict:
    """The [bandwidth] table of a gateway that sends to the fake: with API Credentials (OAuth2), or legacy with
    an API user."""
    credentials = {"username": USERNAME, "password": PASSWORD} if legacy else \
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    return {"account_id": ACCOUNT_ID, "application_id": APPLICATION_ID, **credentials,
            "callback_username": CALLBACK_USERNAME, "callback_password": CALLBACK_PASSWORD, "api_base": api_base,
            "token_url": api_base + "/api/v1/oauth2/token", "lookup_base": api_base}


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def callback_headers(username: str = CALLBACK_USERNAME, password: str = CALLBACK_PASSWORD) -> dict[str, str]:
    """The headers of a callback as Bandwidth posts it with the application's credentials."""
    return {"Authorization": basic(username, password), "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "BandwidthAPI/v2"}


def inbound_event(sender: str, to: str, text: str, message_id: str | None = None, media: list[str] | None = None,
                  recipients: list[str] | None = None) -> dict:
    """A message-received event, shaped as in Bandwidth's webhooks page."""
    message = {"id": message_id or new_id(), "time": "2026-11-29T18:20:16Z", "to": recipients or [to],
               "from": sender, "text": text, "applicationId": APPLICATION_ID, "owner": to, "direction": "in",
               "segmentCount": 1}
    if media:
        message["media"] = media
    return {"type": "message-received", "time": "2026-11-29T18:20:16Z", "description": "Incoming message received",
            "to": to, "message": message}


def status_event(kind: str, message_id: str, sender: str, to: str, error_code: int | None = None) -> dict:
    """A message-sending / -delivered / -failed event for a message we sent."""
    event = {"type": kind, "time": "2026-11-29T18:43:16Z", "description": "ok", "to": to,
             "message": {"id": message_id, "time": "2026-11-29T18:42:35Z", "to": [to], "from": sender, "text": "",
                         "applicationId": APPLICATION_ID, "owner": sender, "direction": "out", "segmentCount": 1}}
    if error_code is not None:
        event["errorCode"] = error_code
    return event


def new_id() -> str:
    return "17" + secrets.token_hex(14)[:27]


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


@dataclass
class Reply:
    """What the fake answers to one create-message request: 202 with an id, or an error in Bandwidth's shape."""

    status: int = 202
    type: str = ""
    description: str = ""
    retry_after: str | None = None
    delay: float = 0.0
    id: str | None = None  # the id to answer with, so a test can post callbacks for it beforehand


@dataclass
class FakeBandwidth:
    sent: list[dict] = field(default_factory=list)  # the JSON of every accepted message, with its "id"
    requests: list[dict] = field(default_factory=list)  # every authenticated request, accepted or not
    replies: deque = field(default_factory=deque)
    tokens: set[str] = field(default_factory=set)  # the access tokens it issued and still takes
    token_requests: int = 0
    token_status: int = 200  # what the token endpoint answers
    url: str = ""
    # Phone Number Lookup: E.164 -> a lineType to answer (MOBILE, FIXED, VOIP, VOIP-FIXED...), or "invalid" (not in
    # the industry data: NO-MATCH), "none" (COMPLETE without a result for it), "error" (HTTP 500), "html" (a page
    # that is not JSON); MOBILE for a number not listed.
    line_types: dict[str, str] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)  # the numbers looked up

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/v2/users/{account}/messages", self.messages)
        app.router.add_post("/api/v1/oauth2/token", self.token)
        app.router.add_post("/v2/accounts/{account}/phoneNumberLookup", self.lookup)
        return app

    async def lookup(self, request: web.Request) -> web.Response:
        """The synchronous lookup: {"phoneNumbers": [E.164...]} -> 200 {links, data: {requestId, status, results},
        errors}, shaped as in Bandwidth's API reference."""
        if request.match_info["account"] != ACCOUNT_ID or not self._authorized(request):
            return web.json_response({"links": [], "data": {}, "errors": [
                {"code": "UNAUTHORIZED", "type": "Authentication", "description": "Unauthorized"}]}, status=401)
        numbers = (await request.json()).get("phoneNumbers")
        if not isinstance(numbers, list) or not numbers:
            return web.json_response({"links": [], "data": {}, "errors": [
                {"code": "BAD-REQUEST", "type": "Validation", "description": "phoneNumbers: required"}]}, status=400)
        self.lookups.extend(numbers)
        kinds = {number: self.line_types.get(number, "MOBILE") for number in numbers}
        if "error" in kinds.values():
            return web.json_response({"links": [], "data": {}, "errors": [
                {"code": "INTERNAL", "type": "Server", "description": "Something went wrong"}]}, status=500)
        if "html" in kinds.values():
            return web.Response(text="<html>Bad gateway</html>", content_type="text/html")
        return web.json_response(_lookup_answer(kinds))

    async def token(self, request: web.Request) -> web.Response:
        """OAuth2 client credentials: Basic client_id:client_secret, grant_type=client_credentials."""
        self.token_requests += 1
        form = await request.post()
        if request.headers.get("Authorization") != basic(CLIENT_ID, CLIENT_SECRET):
            return web.json_response({"error": "invalid_client"}, status=401)
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        if self.token_status != 200:
            return web.json_response({"error": "temporarily_unavailable"}, status=self.token_status)
        token = "eyJ" + secrets.token_hex(24)
        self.tokens.add(token)
        return web.json_response({"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def revoke(self) -> None:
        self.tokens.clear()

    def _authorized(self, request: web.Request) -> bool:
        authorization = request.headers.get("Authorization", "")
        return authorization == basic(USERNAME, PASSWORD) or \
            authorization.startswith("Bearer ") and authorization[7:] in self.tokens

    def then(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    async def messages(self, request: web.Request) -> web.Response:
        if request.match_info["account"] != ACCOUNT_ID or not self._authorized(request):
            return _error(401, "unauthorized", "Authentication Failed")
        if request.content_type != "application/json":
            return _error(415, "unsupported-content-type", "Please use 'application/json'")
        body = await request.json()
        self.requests.append(body)
        if body.get("applicationId") != APPLICATION_ID or not isinstance(body.get("to"), list) or \
                not body.get("from") or not body.get("text"):
            return _error(400, "request-validation", "Your request could not be accepted")
        reply = self.replies.popleft() if self.replies else Reply()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status != 202:
            return _error(reply.status, reply.type, reply.description, reply.retry_after)
        accepted = {**json.loads(payload("create_message_accepted.json")), "id": reply.id or new_id(),
                    "owner": body["from"], "to": body["to"], "from": body["from"], "text": body["text"],
                    "tag": body.get("tag", "")}
        self.sent.append({**body, "id": accepted["id"]})
        return web.json_response(accepted, status=202)

    def raw_bodies_to(self, phone: str) -> list[str]:
        return [m["text"] for m in self.sent if m["to"] == [phone]]

    def bodies_to(self, phone: str) -> list[str]:
        """As FakeTwilio.bodies_to: the texts, the sender identification taken off the one that carries it."""
        bodies = self.raw_bodies_to(phone)
        identified = next((i for i, body in enumerate(bodies) if unwrap(body) != body), None)
        if identified is not None:
            bodies[identified] = unwrap(bodies[identified])
        return bodies


def _lookup_answer(kinds: dict[str, str]) -> dict:
    results = [{"phoneNumber": number, "lineType": kind, "messagingProvider": "T-Mobile USA",
                "voiceProvider": "T-Mobile USA", "countryCodeA3": "USA"}
               for number, kind in kinds.items() if kind not in ("invalid", "none")]
    invalid = [number for number, kind in kinds.items() if kind == "invalid"]
    errors = [{"code": "NO-MATCH", "description": "The following TNs could not be found in the Number Industry data",
               "type": "NumberInventory", "meta": {"phoneNumbers": invalid, "message": "Invalid TNs", "code": 1001}}
              ] if invalid else []
    status = "COMPLETE" if not invalid else "PARTIAL_COMPLETE" if results else "FAILED"
    return {"links": [], "data": {"requestId": "004223a0-8b17-41b1-bf81-20732adf5590", "status": status,
                                  "results": results}, "errors": errors}


def _error(status: int, kind: str, description: str, retry_after: str | None = None) -> web.Response:
    headers = {"Retry-After": retry_after} if retry_after else {}
    return web.json_response({"type": kind, "description": description}, status=status, headers=headers)

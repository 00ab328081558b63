"""A local HTTP server that speaks Vonage's Messages API (v1) and Number Insight Standard, and Vonage's way of signing
its webhooks."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import time
import uuid
import warnings
from collections import deque
from dataclasses import dataclass, field

import jwt
from aiohttp import web

from tests.fakes import unwrap

API_KEY = "abcd1234"
API_SECRET = "test-vonage-api-secret"
SIGNATURE_SECRET = "test-vonage-signature-secret-of-32+-bytes"
APPLICATION_ID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"


def sign(body: bytes, secret: str = SIGNATURE_SECRET, *, issued: float | None = None,
         hashed: bytes | None = None) -> str:
    """The Authorization header Vonage sends with a webhook: a JWT (HS256, the signature secret) whose
    payload_hash is the hex SHA-256 of the body (of `hashed` instead, to forge a mismatch)."""
    claims = {"iat": int(time.time() if issued is None else issued), "jti": str(uuid.uuid4()), "iss": "Vonage",
              "payload_hash": hashlib.sha256(body if hashed is None else hashed).hexdigest(),
              "api_key": API_KEY, "application_id": APPLICATION_ID}
    with warnings.catch_warnings():  # a short secret is the test's choice (see test_vonage)
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return "Bearer " + jwt.encode(claims, secret, algorithm="HS256")


@dataclass
class Reply:
    """What the fake answers to one send: 202 with a message_uuid, or an RFC 7807 problem."""

    status: int = 202
    code: str | None = None  # the problem type's fragment: "1150", "unauthorized"...
    title: str = ""
    detail: str = ""
    retry_after: str | None = None
    delay: float = 0.0


@dataclass
class FakeVonage:
    sent: list[dict] = field(default_factory=list)  # the JSON of every accepted message, with its message_uuid
    requests: list[dict] = field(default_factory=list)  # every request, accepted or not
    replies: deque = field(default_factory=deque)
    url: str = ""
    # Number Insight: E.164 -> a network_type to answer, or "invalid" (status 3), "throttled" (status 1),
    # "error" (HTTP 500), "html" (a page that is not JSON); mobile for a number not listed.
    line_types: dict[str, str] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)  # the numbers looked up (as given: digits, no "+")
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # media id -> (content, content type)
    fetched: list[str] = field(default_factory=list)  # media ids served
    public_key: str | None = None  # set: its media needs the application's JWT (RS256), checked with this key
    unauthorized: int = 0  # media fetches refused for a missing or wrong JWT

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/messages", self.messages)
        app.router.add_get("/ni/standard/json", self.insight)
        app.router.add_get("/v3/media/{id}", self.media_file)
        return app

    async def insight(self, request: web.Request) -> web.Response:
        """Number Insight Standard: Basic auth (or api_key/api_secret in the query), number as digits."""
        query = request.query
        basic = "Basic " + base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != basic and \
                (query.get("api_key"), query.get("api_secret")) != (API_KEY, API_SECRET):
            return web.json_response({"status": 4, "status_message": "Invalid credentials"}, status=401)
        number = query.get("number", "")
        self.lookups.append(number)
        kind = self.line_types.get("+" + number, "mobile")
        if kind == "error":
            return web.json_response({"status": 5, "status_message": "Internal error"}, status=500)
        if kind == "html":
            return web.Response(text="<html>Bad gateway</html>", content_type="text/html")
        if kind in ("invalid", "throttled"):
            status = 3 if kind == "invalid" else 1
            return web.json_response({"status": status, "status_message": f"{kind} request"})
        return web.json_response(_insight(number, kind))

    def then(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    async def messages(self, request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return _problem(401, "unauthorized", "Unauthorized", "You did not provide correct credentials.")
        if request.content_type != "application/json":
            return _problem(415, "unsupported-media-type", "Unsupported Media Type", "Send JSON.")
        body = await request.json()
        self.requests.append(body)
        if problem := _invalid(body):
            return _problem(422, "1020", "Invalid params", f"The value of one or more parameters is invalid: {problem}")
        reply = self.replies.popleft() if self.replies else Reply()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status != 202:
            headers = {"Retry-After": reply.retry_after} if reply.retry_after else {}
            return _problem(reply.status, reply.code or str(reply.status), reply.title, reply.detail, headers)
        message_uuid = str(uuid.uuid4())
        self.sent.append({**body, "message_uuid": message_uuid})
        return web.json_response({"message_uuid": message_uuid}, status=202)

    def bodies_to(self, phone: str) -> list[str]:
        """What was texted to phone by SMS, without the tests' community's sender identification (see tests.fakes)."""
        return [unwrap(m["text"]) for m in self.sent if "+" + m["to"] == phone and m["channel"] == "sms"]

    def whatsapp_to(self, phone: str) -> list[dict]:
        return [m for m in self.sent if "+" + m["to"] == phone and m["channel"] == "whatsapp"]

    # --- Media, as Vonage serves it (GET /v3/media/{id}); "Secure Inbound Media" asks for the application's JWT.

    def add_media(self, content: bytes, content_type: str = "image/jpeg") -> str:
        """A file Vonage holds for an inbound message: its URL, as the webhook names it."""
        media_id = str(uuid.uuid4())
        self.media[media_id] = (content, content_type)
        return f"{self.url}/v3/media/{media_id}"

    async def media_file(self, request: web.Request) -> web.Response:
        if self.public_key is not None:
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            try:
                claims = jwt.decode(token, self.public_key, algorithms=["RS256"])
            except jwt.PyJWTError:
                self.unauthorized += 1
                return web.json_response({"type": "unauthorized", "title": "Unauthorized"}, status=401)
            if claims.get("application_id") != APPLICATION_ID:
                self.unauthorized += 1
                return web.json_response({"type": "forbidden", "title": "Forbidden"}, status=403)
        found = self.media.get(request.match_info["id"])
        if found is None:
            return web.json_response({"type": "not-found"}, status=404)
        self.fetched.append(request.match_info["id"])
        return web.Response(body=found[0], content_type=found[1])


MMS_TYPES = ("image", "audio", "video", "vcard", "file")


def _invalid(body: dict) -> str | None:
    """What the Messages API would refuse in a send (None: nothing), for the channels and types the gateway sends."""
    missing = [name for name in ("message_type", "to", "from", "channel") if not body.get(name)]
    if missing or "+" in body["to"] + body["from"]:
        return f"missing or bad: {missing}"
    channel, kind = body["channel"], body["message_type"]
    if kind == "text":
        return None if channel in ("sms", "whatsapp") and body.get("text") else "text"
    if channel == "mms" and kind in MMS_TYPES:
        media = body.get(kind)
        return None if isinstance(media, dict) and media.get("url") else kind
    if channel == "whatsapp" and kind == "custom":
        custom = body.get("custom") or {}
        template = custom.get("template") or {}
        ok = custom.get("type") == "template" and template.get("name") and template.get("language", {}).get("code")
        return None if ok else "custom"
    return f"{channel}/{kind}"


def _insight(number: str, network_type: str) -> dict:
    """A Number Insight Standard answer shaped as in Vonage's docs."""
    carrier = {"network_code": "310260", "name": "T-Mobile USA", "country": "US", "network_type": network_type}
    return {"status": 0, "status_message": "Success", "request_id": str(uuid.uuid4()),
            "international_format_number": number, "national_format_number": number[1:], "country_code": "US",
            "country_code_iso3": "USA", "country_name": "United States of America", "country_prefix": "1",
            "request_price": "0.00500000", "remaining_balance": "10.000000", "current_carrier": carrier,
            "original_carrier": carrier, "ported": "not_ported", "roaming": {"status": "unknown"}}


def _problem(status: int, code: str, title: str, detail: str, headers: dict | None = None) -> web.Response:
    page = "api-errors/messages" if code.isdigit() else "api-errors"
    body = {"type": f"https://developer.vonage.com/{page}#{code}", "title": title, "detail": detail,
            "instance": secrets.token_hex(16)}
    return web.Response(status=status, body=json.dumps(body), content_type="application/problem+json",
                        headers=headers)

"""A local HTTP server that speaks Plivo's Message API and Lookup API, and signs webhooks as Plivo does (V3)."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import uuid
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from gateway.carriers.plivo import signature

AUTH_ID = "MAXXXXXXXXXXXXXXXXXX"
AUTH_TOKEN = "plivo-test-auth-token"


@dataclass
class Reply:
    """What the fake answers to one send: 202 with a message_uuid, or an error in Plivo's shape."""

    status: int = 202
    error: str = ""
    retry_after: str | None = None
    delay: float = 0.0
    message_uuid: str | None = None


def sign(url: str, params: dict, token: str = AUTH_TOKEN, nonce: str | None = None) -> dict[str, str]:
    """The headers Plivo adds to a webhook POSTed to url with these params (form fields or a JSON object)."""
    nonce = nonce or str(secrets.randbelow(10**20))
    return {"X-Plivo-Signature-V3": signature(token, url, params, nonce), "X-Plivo-Signature-V3-Nonce": nonce}


def encode(params: dict, as_json: bool = False) -> tuple[bytes, str]:
    """The body and content type of a webhook, as a form (the default) or as JSON."""
    if as_json:
        return json.dumps(params).encode(), "application/json"
    return urlencode(params, doseq=True).encode(), "application/x-www-form-urlencoded"


@dataclass
class FakePlivo:
    sent: list[dict] = field(default_factory=list)  # the JSON of every accepted message, with its message_uuid
    requests: list[dict] = field(default_factory=list)  # every send request, accepted or not
    replies: deque = field(default_factory=deque)
    line_types: dict[str, str] = field(default_factory=dict)  # number -> carrier.type (default mobile)
    lookups: list[str] = field(default_factory=list)
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/Account/{auth_id}/Message/", self.message)
        app.router.add_get("/v1/Number/{number}", self.lookup)
        return app

    def then(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def _authorized(self, request: web.Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{AUTH_ID}:{AUTH_TOKEN}".encode()).decode()
        return request.headers.get("Authorization") == expected

    async def message(self, request: web.Request) -> web.Response:
        if request.match_info["auth_id"] != AUTH_ID or not self._authorized(request):
            return web.Response(status=401, text="Could not verify your access level for that URL.")
        if request.content_type != "application/json":
            return web.json_response({"api_id": str(uuid.uuid4()), "error": "use JSON"}, status=400)
        payload = await request.json()
        self.requests.append(payload)
        template = payload.get("template") or {}
        if payload.get("type") == "whatsapp" and not (payload.get("text") or template.get("name")):
            return web.json_response({"api_id": str(uuid.uuid4()), "error": "text or template required"}, status=400)
        reply = self.replies.popleft() if self.replies else Reply()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status != 202:
            headers = {"Retry-After": reply.retry_after} if reply.retry_after else {}
            return web.json_response({"api_id": str(uuid.uuid4()), "error": reply.error}, status=reply.status,
                                     headers=headers)
        message_uuid = reply.message_uuid or str(uuid.uuid4())
        self.sent.append({**payload, "message_uuid": message_uuid})
        return web.json_response({"api_id": str(uuid.uuid4()), "message": "message(s) queued",
                                  "message_uuid": [message_uuid]}, status=202)

    async def lookup(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"api_id": "x", "error_code": 401, "message": "unauthorized"}, status=401)
        number = request.match_info["number"]
        self.lookups.append(number)
        kind = self.line_types.get(number, "mobile")
        if kind == "invalid":
            return web.json_response({"api_id": "x", "error_code": 404, "message": "Phone number is invalid"},
                                     status=404)
        if kind == "error":
            return web.json_response({"api_id": "x", "error_code": 500, "message": "boom"}, status=500)
        return web.json_response({
            "api_id": str(uuid.uuid4()), "phone_number": number,
            "country": {"name": "United States", "iso2": "US", "iso3": "USA"},
            "format": {"e164": number, "national": number, "international": number, "rfc3966": f"tel:{number}"},
            "carrier": {"mobile_country_code": "310", "mobile_network_code": "260", "name": "Fake Wireless",
                        "type": kind, "ported": "no"},
            "resource_uri": f"/v1/Number/{number}?type=carrier"})

    def bodies_to(self, phone: str) -> list[str]:
        """What was texted to phone by SMS (or MMS)."""
        return [m["text"] for m in self.sent if m["dst"] == phone and m.get("type") != "whatsapp"]

    def whatsapp_to(self, phone: str) -> list[dict]:
        return [m for m in self.sent if m["dst"] == phone and m.get("type") == "whatsapp"]

    async def callback(self, sent: dict, status: str, error_code: str = "", as_json: bool = False) -> int:
        """POST a signed status callback for a sent message to the url it was sent with, as Plivo does."""
        params = {"MessageUUID": sent["message_uuid"], "From": sent["src"].lstrip("+"), "To": sent["dst"].lstrip("+"),
                  "Type": "sms", "Status": status, "Units": "1", "TotalRate": "0.0050", "TotalAmount": "0.0050",
                  "MCC": "310", "MNC": "260", "ErrorCode": error_code, "ParentMessageUUID": sent["message_uuid"],
                  "PartInfo": "1 of 1", "Sequence": "2"}
        body, content_type = encode(params, as_json)
        headers = {**sign(sent["url"], params), "Content-Type": content_type}
        async with aiohttp.ClientSession() as session:
            async with session.post(sent["url"], data=body, headers=headers) as response:
                return response.status

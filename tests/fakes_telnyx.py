"""A local server speaking Telnyx's Messaging API v2 and Number Lookup, and signing webhooks as Telnyx does
(Ed25519 over "{timestamp}|{raw body}", with a private key generated for the test)."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

API_KEY = "KEY0123456789ABCDEF_test"
PAYLOADS = Path(__file__).parent / "payloads" / "telnyx"


def payload(name: str) -> dict:
    return json.loads((PAYLOADS / name).read_text())


@dataclass
class Reply:
    """What the fake answers to one send: 200 with a message, or an error in Telnyx's shape."""

    status: int = 200
    code: str | None = None
    title: str = ""
    retry_after: str | None = None
    delay: float = 0.0
    id: str | None = None  # the message id to answer with, so a test can post its events beforehand


class Signer:
    """Telnyx's side of the webhook signature: a key pair; public_key is what the portal shows (base64)."""

    def __init__(self) -> None:
        self.private = Ed25519PrivateKey.generate()
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public_key = base64.b64encode(raw).decode()

    def headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = self.private.sign(stamp.encode() + b"|" + body)
        return {"telnyx-signature-ed25519": base64.b64encode(signature).decode(), "telnyx-timestamp": stamp,
                "Content-Type": "application/json"}


def event(kind: str, message_id: str, *, status: str | None = None, errors: list | None = None,
          sender: str | None = None, to: str | None = None, text: str | None = None,
          whatsapp: dict | None = None) -> bytes:
    """A webhook body shaped as the payload files: message.received, or a status event of message_id; whatsapp:
    an inbound WhatsApp message, with this WhatsApp message object as its body."""
    template = "inbound_sms.json" if kind == "message.received" else "status_delivered.json"
    template = "inbound_whatsapp_text.json" if whatsapp is not None else template
    body = copy.deepcopy(payload(template))
    if whatsapp is not None:
        body["data"]["payload"]["body"] = whatsapp
    data = body["data"]
    data["event_type"], data["id"] = kind, str(uuid.uuid4())
    data["payload"]["id"] = message_id
    if status is not None:
        data["payload"]["to"][0]["status"] = status
    if errors is not None:
        data["payload"]["errors"] = errors
    if sender is not None:
        data["payload"]["from"]["phone_number"] = sender
    if to is not None:
        data["payload"]["to"][0]["phone_number"] = to
    if text is not None:
        data["payload"]["text"] = text
    return json.dumps(body).encode()


@dataclass
class FakeTelnyx:
    signer: Signer = field(default_factory=Signer)
    sent: list[dict] = field(default_factory=list)  # the JSON of every accepted message, with its "id"
    requests: list[dict] = field(default_factory=list)  # every send, accepted or not
    replies: deque = field(default_factory=deque)
    line_types: dict[str, str] = field(default_factory=dict)  # number -> carrier.type in lookups
    invalid: set[str] = field(default_factory=set)  # numbers the lookup calls invalid
    lookups: list[str] = field(default_factory=list)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # name -> (bytes, type) at {url}/media/{name}
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v2/messages", self.messages)
        app.router.add_post("/v2/messages/whatsapp", self.whatsapp)
        app.router.add_get("/v2/number_lookup/{number}", self.number_lookup)
        app.router.add_get("/media/{name}", self.media)
        return app

    def then(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {API_KEY}"

    async def _refused(self, request: web.Request) -> tuple[dict, Reply, web.Response | None]:
        """The request's JSON and the reply planned for it; an answer already when it is an error."""
        if not self._authorized(request):
            return {}, Reply(), web.json_response(payload("send_error_auth.json"), status=401)
        body = await request.json()
        reply = self.replies.popleft() if self.replies else Reply()
        self.requests.append({**body, "id": reply.id})
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status == 200:
            return body, reply, None
        headers = {"Retry-After": reply.retry_after} if reply.retry_after else {}
        error = {"errors": [{"code": reply.code, "title": reply.title, "detail": reply.title}]} if reply.code \
            else {"errors": []}
        return body, reply, web.json_response(error, status=reply.status, headers=headers)

    async def whatsapp(self, request: web.Request) -> web.Response:
        """POST /v2/messages/whatsapp: whatsapp_message is WhatsApp's message object; answered as Telnyx documents."""
        body, reply, refused = await self._refused(request)
        if refused is not None:
            return refused
        answer = payload("send_whatsapp_accepted.json")
        message = answer["data"]
        message.update(id=reply.id or str(uuid.uuid4()), body=body["whatsapp_message"])
        message["from"]["phone_number"], message["to"][0]["phone_number"] = body["from"], body["to"]
        self.sent.append({**body, "id": message["id"], "channel": "whatsapp"})
        return web.json_response(answer)

    async def messages(self, request: web.Request) -> web.Response:
        body, reply, refused = await self._refused(request)
        if refused is not None:
            return refused
        answer = payload("send_accepted.json")
        message = answer["data"]
        message.update(id=reply.id or str(uuid.uuid4()), text=body["text"], webhook_url=body.get("webhook_url"))
        message["from"]["phone_number"], message["to"][0]["phone_number"] = body["from"], body["to"]
        self.sent.append({**body, "id": message["id"]})
        return web.json_response(answer)

    def add_media(self, content: bytes, content_type: str) -> str:
        """A file an inbound message links to (Telnyx's media URLs are public: no credentials); its URL."""
        name = uuid.uuid4().hex
        self.files[name] = (content, content_type)
        return f"{self.url}/media/{name}"

    async def media(self, request: web.Request) -> web.Response:
        content, content_type = self.files[request.match_info["name"]]
        return web.Response(body=content, content_type=content_type)

    async def number_lookup(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response(payload("send_error_auth.json"), status=401)
        number = request.match_info["number"]
        self.lookups.append(number)
        if number in self.invalid:
            return web.json_response(payload("lookup_invalid.json"))
        answer = payload("lookup_mobile.json")
        answer["data"]["phone_number"] = number
        answer["data"]["carrier"]["type"] = self.line_types.get(number, "mobile")
        return web.json_response(answer)

    async def post(self, url: str, body: bytes, timestamp: int | None = None) -> tuple[int, str]:
        """POST a signed webhook to the gateway, as Telnyx does."""
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data=body, headers=self.signer.headers(body, timestamp)) as response:
                return response.status, await response.text()

    async def report(self, message: dict, status: str, errors: list | None = None) -> tuple[int, str]:
        """Post a status event of an accepted message to the webhook_url it was sent with."""
        kind = "message.sent" if status == "sent" else "message.finalized"
        return await self.post(message["webhook_url"], event(kind, message["id"], status=status, errors=errors))

    def bodies_to(self, phone: str) -> list[str]:
        """The SMS texts sent to phone."""
        return [m["text"] for m in self.sent if m["to"] == phone and "whatsapp_message" not in m]

    def whatsapp_to(self, phone: str) -> list[dict]:
        """The whatsapp_message objects sent to phone."""
        return [m["whatsapp_message"] for m in self.sent if m["to"] == phone and "whatsapp_message" in m]

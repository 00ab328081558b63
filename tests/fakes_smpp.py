"""Local servers speaking Jasmin's HTTP API (/send) and Kannel's sendsms (/cgi-bin/sendsms), and the calls each
makes to us (MO and delivery reports) built as they build them: neither signs; our secret rides in the URL."""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from aiohttp import web

from tests.fakes import unwrap

USERNAME, PASSWORD = "relay", "relay-password"
SECRET = "smpp-webhook-secret-0123"


@dataclass
class Reply:
    """What a fake answers to one send: success, or an HTTP status with a body (and Retry-After)."""

    status: int = 0  # 0: success (Jasmin 200, Kannel 202)
    body: str = ""
    retry_after: str | None = None
    delay: float = 0.0


@dataclass
class FakeLink:
    """What both fakes keep: every request, the accepted messages ({"To": E.164, "Body", "sid", "dlr-url",
    ...}), and the replies queued by a test."""

    sent: list[dict] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    replies: deque = field(default_factory=deque)
    url: str = ""

    def then(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    async def _reply(self) -> Reply:
        reply = self.replies.popleft() if self.replies else Reply()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return reply

    @staticmethod
    def _error(reply: Reply) -> web.Response:
        headers = {"Retry-After": reply.retry_after} if reply.retry_after else {}
        return web.Response(status=reply.status, text=reply.body, headers=headers)

    def raw_bodies_to(self, phone: str) -> list[str]:
        return [m["Body"] for m in self.sent if m["To"] == phone]

    def bodies_to(self, phone: str) -> list[str]:
        """As FakeTwilio.bodies_to: the sender identification taken off the one text that carries it."""
        bodies = self.raw_bodies_to(phone)
        identified = next((i for i, body in enumerate(bodies) if unwrap(body) != body), None)
        if identified is not None:
            bodies[identified] = unwrap(bodies[identified])
        return bodies


class FakeJasmin(FakeLink):
    """Jasmin's /send (GET or POST form): 403 for wrong credentials, 400 without to or content, else a queued id."""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/send", self.send)
        return app

    async def send(self, request: web.Request) -> web.Response:
        form = dict(await request.post()) if request.method == "POST" else dict(request.query)
        self.requests.append(form)
        if form.get("username") != USERNAME or form.get("password") != PASSWORD:
            return web.Response(status=403, text=f'Error "Authentication failure for username:{form.get("username")}"')
        if not form.get("to") or not (form.get("content") or form.get("hex-content")):
            return web.Response(status=400, text='Error "Mandatory arguments not found, please refer to the '
                                                 'HTTPAPI specifications."')
        reply = await self._reply()
        if reply.status:
            return self._error(reply)
        body = bytes.fromhex(form["hex-content"]).decode("utf-16-be") if "hex-content" in form else form["content"]
        sid = str(uuid.uuid4())
        self.sent.append({**form, "To": "+" + form["to"], "Body": body, "sid": sid})
        return web.Response(text=f'Success "{sid}"')


class FakeKannel(FakeLink):
    """smsbox's sendsms (GET): 403 "Authorization failed", 400 without to, else 202 "0: Accepted for delivery"."""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/sendsms", self.send)
        return app

    async def send(self, request: web.Request) -> web.Response:
        form = dict(request.query)
        self.requests.append(form)
        if form.get("username") != USERNAME or form.get("password") != PASSWORD:
            return web.Response(status=403, text="Authorization failed for sendsms")
        if not form.get("to"):
            return web.Response(status=400, text="Missing receiver number")
        reply = await self._reply()
        if reply.status:
            return self._error(reply)
        assert form.get("charset") == "UTF-8"
        # Kannel answers no id: the gateway's own is in the dlr-url it gave.
        sid = dict(parse_qsl(urlsplit(form.get("dlr-url", "")).query)).get("sid")
        self.sent.append({**form, "To": form["to"], "Body": form["text"], "sid": sid})
        return web.Response(status=202, text="0: Accepted for delivery")


# --- The calls each makes to us ------------------------------------------------------------------------------

def with_secret(path: str, secret: str | None = SECRET) -> str:
    """A webhook path as the operator configures it: our secret in the query (None: left out)."""
    if secret is None:
        return path
    return f"{path}{'&' if '?' in path else '?'}secret={quote(secret, safe='')}"


def jasmin_mo(message_id: str, sender: str, to: str, content: str, coding: int = 0) -> str:
    """An SMS-MO form as Jasmin's HTTP connector posts it: numbers without "+", content as the bytes that came
    (UCS-2 for coding 8) with their hex in `binary`."""
    data = content.encode("utf-16-be" if coding == 8 else "utf-8")
    fields = [("id", message_id), ("from", sender.lstrip("+")), ("to", to.lstrip("+")),
              ("origin-connector", "smppc01"), ("priority", "1"), ("coding", str(coding)),
              ("validity", "none"), ("content", data), ("binary", data.hex())]
    return urlencode(fields)


def jasmin_dlr(message_id: str, status: str, level: int = 2, err: str = "000") -> str:
    """A DLR form as Jasmin posts it: level 1 carries the submit's answer, levels 2-3 the handset's receipt."""
    fields = [("id", message_id), ("message_status", status), ("level", str(level)), ("connector", "smppc01")]
    if level > 1:
        fields += [("id_smsc", "2567"), ("subdate", "2611292338"), ("donedate", "2611292339"), ("sub", "001"),
                   ("dlvrd", "001" if status == "DELIVRD" else "000"), ("err", err), ("text", "Hello")]
    return urlencode(fields)


def kannel_dlr_path(dlr_url: str, kind: int, answer: str = "") -> str:
    """The path and query Kannel calls for a dlr-url given to sendsms, its %d and %A filled in (URL-encoded)."""
    filled = dlr_url.replace("%d", str(kind)).replace("%A", quote(answer, safe=""))
    parts = urlsplit(filled)
    return f"{parts.path}?{parts.query}"


def kannel_mo_path(message_id: str, sender: str, to: str, text: str, coding: int = 0,
                   secret: str | None = SECRET) -> str:
    """The get-url README tells the operator to set, as Kannel fills it: %b the text's bytes (UTF-16BE for UCS-2,
    coding 2), %C their charset."""
    charset, data = ("UTF-16BE", text.encode("utf-16-be")) if coding == 2 else ("UTF-8", text.encode("utf-8"))
    query = urlencode([("id", message_id), ("from", sender), ("to", to), ("text", data),
                       ("coding", str(coding)), ("charset", charset)])
    return with_secret(f"/webhooks/kannel/mo?{query}", secret)

"""Signed, expiring URLs to stored pictures: no credentials in them, only an HMAC over what they name and until
when. Any process can check one (the key comes from the configuration, the bytes from Postgres).

    {public_url}/media/{media id}/{expires}/{signature}   one picture (what a carrier fetches for an MMS)
    {public_url}/m/{message id}/{expires}/{signature}     a page showing a message's pictures (the link in an SMS)

expires: Unix seconds, in base 36 (short: the page's link goes in an SMS). signature: the first 16 bytes of
HMAC-SHA256(key, "<kind>:<id>:<expires>"), base64url without padding.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from enum import Enum

FILE = "media"
PAGE = "m"


class Check(Enum):
    OK = "ok"
    FORGED = "forged"  # 403: the signature is not ours (or names another id or time)
    EXPIRED = "expired"  # 410


def media_key(secret: bytes) -> bytes:
    """The media URLs' own key, derived from the gateway's webhook secret (hooks.secret): a leaked URL signature
    says nothing of the key that signs events."""
    return hmac.new(secret, b"gateway media urls", hashlib.sha256).digest()


def _signature(key: bytes, kind: str, item_id: int, expires: str) -> str:
    digest = hmac.new(key, f"{kind}:{item_id}:{expires}".encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, digit = divmod(number, 36)
        out = digits[digit] + out
        if number == 0:
            return out


def sign(key: bytes, public_url: str, kind: str, item_id: int, lifetime: float, now: float | None = None) -> str:
    """The signed URL of a picture (kind FILE) or a message's page (kind PAGE), valid for lifetime seconds."""
    expires = _base36(int((time.time() if now is None else now) + lifetime))
    return f"{public_url}/{kind}/{item_id}/{expires}/{_signature(key, kind, item_id, expires)}"


def check(key: bytes, kind: str, item_id: int, expires: str, signature: str, now: float | None = None) -> Check:
    """Whether a URL's parts are ours and still valid. The signature is compared first, in constant time: an
    expired URL is told apart only when it was genuine."""
    if not hmac.compare_digest(signature.encode(), _signature(key, kind, item_id, expires).encode()):
        return Check.FORGED
    try:
        until = int(expires, 36)
    except ValueError:
        return Check.FORGED
    return Check.OK if until >= (time.time() if now is None else now) else Check.EXPIRED


def redact(url: str) -> str:
    """A signed URL as logs may show it: without its signature."""
    return url.rsplit("/", 1)[0] + "/…"

"""What every carrier's HTTP edge does alike: reading a webhook's form or JSON body once, and calling its API
(send and line-type lookup) with the same answers to throttling, server errors and a network that fails.

Private to the carriers (the registry skips modules whose names start with "_"); the core never imports it.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import parse_qsl, urlencode

import aiohttp

from gateway.carriers.base import LookupFailed, NotANumber, RawRequest, RetryLater, SendResult
from gateway.errors import Malformed, TooLarge, UnsupportedMedia

Form = Sequence[tuple[str, str]]
MAX_FIELDS = 1000  # as aiohttp's form reader: more is refused with 413
NETWORK_ERRORS = (aiohttp.ClientError, TimeoutError)
UTF8 = ("utf-8", "utf8")


# --- Webhook bodies -----------------------------------------------------------------------------------------

def read_form(request: RawRequest) -> Form:
    """The POSTed fields, as aiohttp's form reader decodes them, decoded once per request. Raises 415 for a
    multipart body or a charset other than UTF-8 (carriers post neither), Malformed("invalid_body") for bytes that
    are not UTF-8, 413 for more than MAX_FIELDS fields. A body of another content type reads as no fields (its
    signature then fails)."""
    if "form" not in request.decoded:
        request.decoded["form"] = _decode_form(request)
    return request.decoded["form"]


def _decode_form(request: RawRequest) -> Form:
    if request.content_type == "multipart/form-data" or (request.charset or "utf-8").lower() not in UTF8:
        # Carriers post forms urlencoded in UTF-8. A multipart body was read whole already (see
        # body_deadline_middleware), and another charset would be decoded by whatever codec it names.
        raise UnsupportedMedia("unsupported_media_type", "send the form as application/x-www-form-urlencoded, in UTF-8")
    if request.content_type not in ("", "application/x-www-form-urlencoded") or not request.body:
        return []
    try:
        query = request.body.rstrip().decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("invalid_body", "the body is not a readable form") from None
    if query.count("&") >= MAX_FIELDS:
        raise TooLarge("body_too_large", f"at most {MAX_FIELDS} form fields")
    return parse_qsl(query, keep_blank_values=True, encoding="utf-8")


def read_json(request: RawRequest) -> Any:
    """The JSON body, decoded once per request. Raises 415 for another content type or a charset other than
    UTF-8, Malformed("invalid_body") for a body that is not JSON (or nested deeper than the parser's stack)."""
    if "json" not in request.decoded:
        if request.content_type not in ("", "application/json") or (request.charset or "utf-8").lower() not in UTF8:
            raise UnsupportedMedia("unsupported_media_type", "send the body as JSON (application/json), in UTF-8")
        request.decoded["json"] = json_value(request.body)
    return request.decoded["json"]


def json_value(body: bytes) -> Any:
    """The JSON in body (UTF-8); Malformed("invalid_body") when it is not."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Malformed("invalid_body", "the body is not readable JSON") from None


def text_field(fields: Mapping[str, Any], name: str, *, required: bool = True, limit: int = 64) -> str:
    """A string field of a JSON webhook; "" for an absent or empty one that is not required. Raises
    Malformed("missing_field") for a required one absent or empty, Malformed("invalid_field") for one that is not a
    string, is longer than limit, or holds a NUL (Postgres cannot store it; message texts drop it before this)."""
    value = fields.get(name)
    if value is None or value == "":
        if required:
            raise Malformed("missing_field", f"{name}: required")
        return ""
    if not isinstance(value, str):
        raise Malformed("invalid_field", f"{name}: expected a string")
    if len(value) > limit:
        raise Malformed("invalid_field", f"{name}: longer than {limit} characters")
    if "\x00" in value:
        raise Malformed("invalid_field", f"{name}: contains a NUL character")
    return value


def with_plus(number: str) -> str:
    """E.164 from a number a carrier writes as digits without "+" (14155552671); anything else (an alphanumeric
    sender, a number with its "+") as it came, for the core to judge."""
    return "+" + number if number.isascii() and number.isdigit() else number


# --- Calling a carrier's API --------------------------------------------------------------------------------

FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def form_body(fields: Mapping[str, str] | Form) -> bytes:
    """A send's form, URL-encoded as aiohttp's FormData would (UTF-8), without building a FormData (and its
    multipart writer) per send: pass it as data= with FORM_HEADERS."""
    return urlencode(fields).encode()


def basic_auth(user: str, password: str) -> dict[str, str]:
    """The Authorization header of HTTP Basic (RFC 7617)."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Retry-After in seconds, when given as a number (RFC 9110 also allows a date; no carrier sends one)."""
    try:
        return max(0.0, float(headers.get("Retry-After", "")))
    except ValueError:
        return None


def unreachable(exc: BaseException) -> RetryLater:
    return RetryLater(f"carrier unreachable: {type(exc).__name__}")


async def json_object(response: aiohttp.ClientResponse) -> dict:
    """The answer's JSON object; {} for anything else (an HTML error page, a list, JSON nested too deep)."""
    try:
        payload = await response.json(content_type=None)
    except (ValueError, RecursionError):
        return {}
    return payload if isinstance(payload, dict) else {}


Answered = Callable[[int, dict], SendResult]  # (HTTP status, the answer's JSON object or {}) -> the send result


async def send_request(session: aiohttp.ClientSession, method: str, url: str, answered: Answered,
                       **request: Any) -> SendResult:
    """One call to a carrier's send API. 429 and 5xx are RetryLater (after Retry-After, if given), and so is a
    network failure or a timeout; any other answer is answered(status, JSON object). Never raises for the
    carrier's answers or its network. request: aiohttp's request arguments (json=, data=, headers=, timeout=).
    A redirect is not followed (no carrier's API redirects a send; the text would go wherever it points): a 3xx is
    answered(status, ...) as any other refusal."""
    try:
        async with session.request(method, url, allow_redirects=False, **request) as response:
            if response.status == 429 or response.status >= 500:
                return RetryLater(f"carrier answered {response.status}", retry_after(response.headers))
            return answered(response.status, await json_object(response))
    except NETWORK_ERRORS as exc:
        return unreachable(exc)


async def lookup_json(session: aiohttp.ClientSession, url: str, e164: str, *, missing_is_no_number: bool = False,
                      method: str = "GET", **request: Any) -> dict:
    """Call a line-type lookup API (GET, or the method given: some take the numbers in a POSTed body) for its JSON
    object. Raises NotANumber for a 404 when the API answers so for a number that does not exist
    (missing_is_no_number), LookupFailed for any other answer than 200 with a JSON object."""
    try:
        async with session.request(method, url, allow_redirects=False, **request) as response:
            if response.status == 404 and missing_is_no_number:
                raise NotANumber(e164)
            if response.status != 200:
                raise LookupFailed(f"lookup answered {response.status}")
            payload = await response.json(content_type=None)
    except (aiohttp.ClientError, ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deep
        raise LookupFailed(type(exc).__name__) from None
    if not isinstance(payload, dict):
        raise LookupFailed("lookup answered no JSON object")
    return payload

"""Request middlewares: context and timing, the one error handler, and the internal API's token check."""

from __future__ import annotations

import asyncio
import hmac
import itertools
import re
import secrets
import time

import structlog
from aiohttp import web
from redis.exceptions import RedisError

from gateway.storage.db import UNAVAILABLE
from gateway.errors import (Conflict, GatewayError, InvalidInput, LimitReached, Malformed, NotAuthenticated,
                            NotFound, NotPermitted, TooLarge, UnsupportedMedia)
from gateway.tokens import ApiToken
from gateway.keys import CONFIG, METRICS, STREAMED_PATHS, TOKEN_PATHS, TOKENS
from gateway.ops.logs import clip
from gateway.relay.phones import mask

log = structlog.get_logger(__name__)
access_log = structlog.get_logger("access")

# Every domain error's HTTP status, here only: the domain raises by meaning, this layer answers by number.
HTTP_STATUS: dict[type[GatewayError], int] = {
    Malformed: 400, NotAuthenticated: 401, NotPermitted: 403, NotFound: 404, Conflict: 409, InvalidInput: 422,
    LimitReached: 429, UnsupportedMedia: 415, TooLarge: 413,
}

def http_status(error: GatewayError) -> int:
    """The status of a domain error by its class or the nearest base in HTTP_STATUS: a carrier module may raise
    its own subclass (class BadBody(Malformed)) without the core knowing it. A bare GatewayError is our bug: 500."""
    return next((HTTP_STATUS[cls] for cls in type(error).__mro__ if cls in HTTP_STATUS), 500)


# A signed media path's signature (gateway/media/signing.py: /media/{id}/{expires}/{signature}, /m/...), also when
# something follows it ("/", a file name) and no route matched: the segment after the expiry is left out of logs.
SIGNED_PATH = re.compile(r"(/(?:media|m)/[^/]*/[^/]*/)[^/]+")

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 413: "body_too_large", 415: "unsupported_media_type"}


def logged_path(request: web.Request) -> str | None:
    """The path for a log line, with a {phone} in it masked however it was written: a national phone may be
    "(415) 555-2671" or "415.555.2671", which the log scrubber (runs of 10 to 15 digits) does not see; and a
    {signature} left out."""
    path, phone = request.path, request.match_info.get("phone")
    if phone and (digits := re.sub(r"\D", "", phone)):
        path = path.replace(phone, mask("+" + digits) or "")
    if signature := request.match_info.get("signature"):
        path = path.replace(signature, "…")  # a media URL's signature is its only credential (gateway/media)
    path = SIGNED_PATH.sub(r"\1…", path)
    return clip(path, 200)


def error_body(status: int, code: str, message: str, **details: object) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **details}}, status=status)


def refusal(request: web.Request, exc: GatewayError) -> web.Response:
    """The answer to a domain error: its status, {"error": {code, message, details...}}, Retry-After if known."""
    status = http_status(exc)
    log.info("request_refused", status=status, code=exc.code, path=logged_path(request))
    response = error_body(status, exc.code, exc.message, **exc.details)
    if isinstance(exc, LimitReached) and exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


# A request id is this process's random prefix and a count: unique across processes and restarts, and far
# cheaper than a uuid4 per request (a urandom call each, about 1% of a webhook's CPU).
_PROCESS_PREFIX = secrets.token_hex(6)
_REQUEST_NUMBERS = itertools.count(1)


@web.middleware
async def context_middleware(request: web.Request, handler):
    """Bind the request id for every log line of this request, and time it."""
    structlog.contextvars.clear_contextvars()
    request_id = request.headers.get("X-Request-Id", "")[:64] or f"{_PROCESS_PREFIX}{next(_REQUEST_NUMBERS):08x}"
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = request_id
        return response
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        took = time.perf_counter() - started
        request.app[METRICS].requests.labels(route, str(status)).observe(took)
        if request.app[CONFIG].log.access:
            # The route's template, never the path: a path may hold a phone number or a signed media URL.
            access_log.info("request_served", method=request.method, route=route, status=status,
                            duration_ms=round(took * 1000, 2))


@web.middleware
async def error_middleware(request: web.Request, handler):
    """Caller errors become 4xx JSON; our own failures become 503 (dependency away) or 500, never a trace."""
    try:
        return await handler(request)
    except GatewayError as exc:
        return refusal(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = HTTP_CODES.get(exc.status, "http_error")
        log.info("request_refused", status=exc.status, code=code, path=logged_path(request))
        return error_body(exc.status, code, exc.reason)
    except UNAVAILABLE + (RedisError,) as exc:
        log.error("dependency_unavailable", error=type(exc).__name__, path=logged_path(request))
        return error_body(503, "unavailable", "a storage service is unavailable; try again")
    except Exception:
        log.exception("request_crashed", path=logged_path(request))
        return error_body(500, "internal", "internal error")


@web.middleware
async def body_deadline_middleware(request: web.Request, handler):
    """The whole body must arrive within server.body_timeout seconds of the headers, or the answer is 408 and the
    connection is closed: a sender trickling bytes (even on the unauthenticated webhook paths) holds nothing open.
    The body is read here, whole, for every handler (at most server.max_body_bytes, else 413), but a streamed
    route's (a CSV import: gateway/api/contract.py streamed), which reads it as it comes, within its own limits."""
    if request.body_exists and not streamed(request):
        try:
            async with asyncio.timeout(request.app[CONFIG].server.body_timeout):
                await request.read()
        except TimeoutError:
            log.info("request_refused", status=408, code="body_timeout")
            response = error_body(408, "body_timeout", "the request body did not arrive in time")
            response.force_close()
            await response.prepare(request)
            await response.write_eof()
            # Closed now, once the answer is written: aiohttp would otherwise keep reading the rest for a while.
            request.protocol.force_close()
            return response
        except web.RequestPayloadError:
            # A body that does not decode as its Content-Encoding says (gzip over plain bytes): the caller's fault.
            raise Malformed("invalid_body", "the body could not be decoded as its Content-Encoding says") from None
    return await handler(request)


def streamed(request: web.Request) -> bool:
    """Whether the route reads its body itself, as a stream."""
    resource = request.match_info.route.resource
    return resource is not None and resource.canonical in request.app.get(STREAMED_PATHS, ())


# The token a request to the internal API came with (set by auth_middleware): who calls, and what it may reach.
CALLER = web.RequestKey("caller", ApiToken)


@web.middleware
async def auth_middleware(request: web.Request, handler):
    """The internal API and the carriers' operator routes (the sandbox's phone) need a bearer token; compared in
    constant time. The token found is request[CALLER] (gateway/api/scope.py applies its limits)."""
    if request.path.startswith(request.app[TOKEN_PATHS]):
        tokens = request.app[TOKENS]
        if not tokens:
            raise NotAuthenticated("unauthorized", "the internal API has no token configured (GATEWAY_API_TOKEN)")
        given = request.headers.get("Authorization", "")
        # Bytes that are not UTF-8 reach us as surrogate escapes, which no configured token contains.
        given = given if given.isascii() else given.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        scheme, _, token = given.partition(" ")
        caller = _known(token.strip(), tokens) if scheme.lower() == "bearer" else None
        if caller is None:
            raise NotAuthenticated("unauthorized", "missing or wrong bearer token")
        request[CALLER] = caller
    return await handler(request)


def _known(token: str, tokens: tuple[ApiToken, ...]) -> ApiToken | None:
    # Check every token, so the time taken does not tell which one nearly matched.
    found = None
    for candidate in tokens:
        if hmac.compare_digest(token.encode(), candidate.token.encode()):
            found = candidate
    return found if token else None

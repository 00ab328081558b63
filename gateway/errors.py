"""Domain errors: what went wrong, the HTTP status it maps to, and a code a client can act on."""

from __future__ import annotations


class GatewayError(Exception):
    """An error with a machine-readable code; the error middleware turns it into a JSON answer."""

    status = 500

    def __init__(self, code: str, message: str, **details: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


class BadRequest(GatewayError):
    status = 400


class Unauthorized(GatewayError):
    status = 401


class Forbidden(GatewayError):
    status = 403


class NotFound(GatewayError):
    status = 404


class Conflict(GatewayError):
    status = 409


class InvalidInput(GatewayError):
    status = 422


class TooManyRequests(GatewayError):
    """429; retry_after (seconds) becomes the Retry-After header."""

    status = 429

    def __init__(self, code: str, message: str, retry_after: int | None = None, **details: object) -> None:
        super().__init__(code, message, **details)
        self.retry_after = retry_after

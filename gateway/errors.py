"""Domain errors: what went wrong and a code a client can act on. No HTTP here: the HTTP layer maps each class
to a status in one table (gateway/ops/middleware.py, HTTP_STATUS)."""

from __future__ import annotations


class GatewayError(Exception):
    """An error with a machine-readable code (snake_case) and a sentence for a person; details go in the answer."""

    def __init__(self, code: str, message: str, **details: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


class Malformed(GatewayError):
    """The input cannot be read: not JSON, a wrong type, an unknown field, a number that is no number."""


class UnsupportedMedia(GatewayError):
    """A body in a format or character set the endpoint does not take (a form where JSON is expected)."""


class TooLarge(GatewayError):
    """More of something than the endpoint takes (form fields, bytes)."""


class NotAuthenticated(GatewayError):
    """No credentials, or wrong ones."""


class NotPermitted(GatewayError):
    """Known caller, refused: a carrier signature that does not verify, an action the state does not allow."""


class NotFound(GatewayError):
    """No such community, conversation, message or verification."""


class Conflict(GatewayError):
    """The request collides with what exists: a conversation already open for the pair, a sid already used."""


class InvalidInput(GatewayError):
    """Readable input that the rules refuse: a landline, an unsupported country, a text too long."""


class LimitReached(GatewayError):
    """Too many tries or sends for now; retry_after (seconds), when known, says when to come back."""

    def __init__(self, code: str, message: str, retry_after: int | None = None, **details: object) -> None:
        super().__init__(code, message, **details)
        self.retry_after = retry_after


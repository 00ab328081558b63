"""Internal API tokens as configured (server.api_tokens): who holds each, and what it may reach (SECURITY.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from gateway.config import ConfigError
from gateway.config_values import CONTROL


@dataclass(frozen=True)
class ApiToken:
    """An internal API token: who holds it (its name in api_tokens, also the scope of its Idempotency-Keys), and
    what it may reach: communities None means every community (and creating them); read_only allows GET only;
    reviewer approves and rejects message templates (README "Templates")."""

    name: str
    token: str
    communities: frozenset[int] | None = None
    read_only: bool = False
    reviewer: bool = False

    def reaches(self, community_id: int | None) -> bool:
        return self.communities is None or community_id in self.communities


TOKEN_FIELDS = frozenset({"token", "communities", "read_only", "reviewer"})


def parse_tokens(raw: Mapping[str, Any]) -> tuple[ApiToken, ...]:
    """server.api_tokens: each name -> "token" (every community, read and write: the form before scopes), or ->
    {token = "...", communities = [1, 2], read_only = true, reviewer = true}; GATEWAY_API_TOKEN adds "default",
    unrestricted. A plain string reviews templates (it can do everything); a table only with reviewer = true.
    ConfigError naming the first bad setting (config.validate calls this at start)."""
    tokens: list[ApiToken] = []
    for name, value in raw.items():
        where = f"server.api_tokens.{name}"
        if isinstance(value, str):
            value = {"token": value, "reviewer": True}
        if not isinstance(value, Mapping) or value.keys() - TOKEN_FIELDS:
            raise ConfigError(f"{where}: expected a token string or a table of token, communities, read_only, "
                              "reviewer")
        token, communities, read_only = value.get("token"), value.get("communities"), value.get("read_only", False)
        # A control character (a NUL or tab in the JSON of GATEWAY_SERVER__API_TOKENS) is in no header a client
        # can send: the token would be accepted here and never match.
        if not isinstance(token, str) or not token.strip() or not token.isascii() or token != token.strip() \
                or CONTROL.search(token):
            raise ConfigError(f"{where}.token: expected a non-empty ASCII string without spaces around it or "
                              "control characters")
        if communities is not None and (not isinstance(communities, list) or not all(
                isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in communities)):
            raise ConfigError(f"{where}.communities: expected a list of community ids, got {communities!r}")
        if not isinstance(read_only, bool):
            raise ConfigError(f"{where}.read_only: expected true or false, got {read_only!r}")
        reviewer = value.get("reviewer", False)
        if not isinstance(reviewer, bool) or (reviewer and read_only):
            raise ConfigError(f"{where}.reviewer: expected true or false (and a reviewer writes: not read_only), "
                              f"got {reviewer!r}")
        if any(other.token == token for other in tokens):
            raise ConfigError(f"{where}.token: the same token as another name; each token must be its own")
        tokens.append(ApiToken(name, token, None if communities is None else frozenset(communities), read_only,
                               reviewer))
    return tuple(tokens)

"""The API's contract core: each endpoint is declared once, and that declaration both serves the route (reading
and checking the body and query into their Structs, encoding the answer) and describes it in /openapi.json.

Declaring an endpoint (the types live in gateway/api/types.py; the lists', numbers' and event log's in
gateway/api/list_types.py):

    routes = Routes("things")

    @routes.post("/v1/things/{id}/parts", body=NewPart, answer=Part, status=201, errors=("part_taken",))
    async def add_part(request: web.Request, body: NewPart) -> Part:
        '''Add a part to a thing (this first line is the operation's summary; the rest its description).'''
        ...
        return Part(...)

    @routes.get("/v1/things/{id}/parts", query=Page, answer=Parts)
    async def parts(request: web.Request, query: Page) -> Parts: ...

- body: a Struct; the handler gets it as `body=`, read by read_body (415, 400 invalid_json / unknown_field, 422
  missing_field / invalid_field). optional_body=True: an empty body is the Struct's defaults.
- query: a Struct whose fields are the query parameters (ints in ASCII digits); the handler gets it as `query=`;
  anything wrong answers 422 invalid_query.
- answer: the Struct the handler returns, encoded with msgspec; status its status (204: return None). A handler
  may return a web.Response itself (content={"text/csv": {...}} documents another media type).
- errors: the codes it answers beyond those its shape implies (a body's, a query's, a path's not_found, 401
  unauthorized, 503 unavailable); each must be in ERRORS, which gives its status.
- public=True: no bearer token (the auth middleware decides; this only documents it).
- streamed={"text/csv": {...}}: the handler reads the body itself, as a stream of that media type (a CSV import):
  nothing reads it whole first (not the body deadline, not Idempotency-Key, which such a route does not take).
Then add the module's `routes` to ROUTES in gateway/api/__init__.py: the route is served and documented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import msgspec
from aiohttp import web

from gateway.api.reading import read_body, read_query, refuse_unknown_parameters
from gateway.errors import Malformed
from gateway.verification.numbers import REFUSED

# Every code the internal API answers, with its status (the domain raises by meaning: gateway/ops/middleware.py
# maps the class to the same status; tests/test_contract.py checks the two agree for every code raised).
ERRORS: dict[str, int] = {
    **dict.fromkeys(("invalid_json", "unknown_field", "invalid_body"), 400),
    "unauthorized": 401,
    **dict.fromkeys(("not_found", "community_not_found", "conversation_not_found", "message_not_found",
                     "verification_not_found", "not_on_allow_list", "not_on_dnd", "member_not_found"), 404),
    "body_timeout": 408,
    **dict.fromkeys(("number_taken", "conversation_exists", "conversation_not_open", "prospect_not_verified",
                     "community_has_no_numbers", "message_not_held", "recipient_opted_out", "recipient_on_dnd",
                     "verification_not_pending", "dnd_permanent", "not_restricted", "participant_not_verified",
                     "conversation_not_a_group", "conversation_not_a_pair", "already_a_member",
                     "conversation_full"), 409),
    # Writing into a conversation of several from the API (api/conversations.py write).
    **dict.fromkeys(("not_a_participant", "conversation_taken"), 409),
    "body_too_large": 413,
    "unsupported_media_type": 415,
    **dict.fromkeys(("missing_field", "invalid_field", "invalid_query", "invalid_number", "unsupported_country",
                     "unknown_line_type", *REFUSED.values(), "unknown_carrier", "message_too_long",
                     "participant_is_proxy", "same_participant", "too_many_members"), 422),
    **dict.fromkeys(("too_many_codes", "verification_failed"), 429),
    "unavailable": 503,
    # Every /v1 request: Idempotency-Key (api/idempotency.py) and the token's scope (api/scope.py).
    "invalid_idempotency_key": 400, "idempotency_key_in_flight": 409, "idempotency_key_reused": 422,
    **dict.fromkeys(("read_only_token", "outside_token_scope"), 403),
    # The event log (api/events.py).
    "delivery_not_found": 404,
    # A community's numbers (api/numbers.py).
    "number_not_found": 404, **dict.fromkeys(("number_in_use", "last_number", "community_number"), 409),
    # Teams and number assignments (api/teams.py; README "Dedicated numbers and team inboxes").
    "team_not_found": 404, "number_not_in_community": 422,
    **dict.fromkeys(("no_unassigned_number", "number_dedicated", "team_full", "team_has_numbers",
                     "team_has_no_members"), 409),
    # Separate numbers for marketing (README "Separate numbers for marketing").
    **dict.fromkeys(("number_marketing", "category_with_assignment"), 409),
    # Contacts with data and message templates (api/contacts.py, api/templates.py; README "Contacts", "Templates").
    **dict.fromkeys(("contact_not_found", "template_not_found"), 404), "not_a_reviewer": 403,
    **dict.fromkeys(("contact_opted_out", "template_name_taken", "template_in_use", "wrong_template_state"), 409),
    **dict.fromkeys(("invalid_csv", "missing_fields"), 422),
    # Template sends: triggered sends and broadcasts (api/sends.py, api/broadcasts.py).
    "broadcast_not_found": 404, **dict.fromkeys(("template_not_approved", "recipient_not_opted_in",
                                                 "no_sending_number", "broadcast_completed"), 409),
}
# What a phone to be texted can be refused for (gateway/verification/numbers.py check).
PHONE_ERRORS = ("invalid_number", "unsupported_country", "unknown_line_type", *REFUSED.values())
IDEMPOTENCY_ERRORS = ("invalid_idempotency_key", "idempotency_key_in_flight", "idempotency_key_reused")
BODY_ERRORS = ("invalid_json", "unknown_field", "invalid_body", "body_timeout", "body_too_large",
               "unsupported_media_type", "missing_field", "invalid_field")


class ErrorDetail(msgspec.Struct):
    code: str
    message: str
    conversation_id: int | msgspec.UnsetType = msgspec.UNSET  # conversation_exists: the open one
    message_id: int | msgspec.UnsetType = msgspec.UNSET  # recipient_opted_out, recipient_on_dnd: stored as blocked
    open_conversations: int | msgspec.UnsetType = msgspec.UNSET  # number_in_use: how many use the number
    fields: list[str] | msgspec.UnsetType = msgspec.UNSET  # missing_fields: the merge fields without a value


class Error(msgspec.Struct):
    """Every 4xx and 5xx answer of the API."""

    error: ErrorDetail


Handler = Callable[..., Awaitable[Any]]
_ENCODER = msgspec.json.Encoder()


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    tag: str
    body: type | None = None
    optional_body: bool = False
    query: type | None = None
    answer: Any = None
    status: int = 200
    errors: tuple[str, ...] = ()
    content: dict[str, dict] = field(default_factory=dict)
    public: bool = False
    streamed: dict[str, dict] = field(default_factory=dict)

    def all_errors(self) -> list[str]:
        """Every code it can answer: its own and those its shape implies (a write's read_only_token, a POST's
        Idempotency-Key), each once."""
        implied = [*(() if self.public else ("unauthorized",)), *(BODY_ERRORS if self.body else ()),
                   "invalid_query", *(("not_found",) if "{" in self.path else ()),
                   *(("invalid_body",) if self.body is None and self.method != "GET" else ()),
                   *(("read_only_token",) if self.method != "GET" and not self.public else ()),
                   *(IDEMPOTENCY_ERRORS if self.method == "POST" and not self.public and not self.streamed else ()),
                   "unavailable"]
        return list(dict.fromkeys([*implied, *self.errors]))

    async def serve(self, request: web.Request) -> web.StreamResponse:
        refuse_unknown_parameters(request, self.query)
        given = {}
        if self.body is not None:
            given["body"] = await read_body(request, self.body, optional=self.optional_body)
        elif self.method != "GET" and not self.streamed and (await request.read()).strip() not in (b"", b"{}"):
            # As an unknown field is refused: a body sent here would be silently ignored otherwise.
            raise Malformed("invalid_body", "this endpoint takes no body: send none (or {})")
        if self.query is not None:
            given["query"] = read_query(request, self.query)
        answer = await self.handler(request, **given)
        if isinstance(answer, web.StreamResponse):
            return answer
        if answer is None:
            return web.Response(status=self.status)
        return json_answer(answer, self.status)


def json_answer(answer: Any, status: int = 200) -> web.Response:
    """An answer encoded by msgspec (Structs, dicts, datetimes as RFC 3339): every declared route's, and any
    route not declared here (today the event secrets), so that every answer encodes alike."""
    return web.Response(body=_ENCODER.encode(answer), status=status, content_type="application/json")


class Routes:
    """A module's endpoints: declared with get/post/patch/delete, served and documented from the same record."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def route(self, method: str, path: str, **declared: Any) -> Callable[[Handler], Handler]:
        unknown = [code for code in declared.get("errors", ()) if code not in ERRORS]
        if unknown:
            raise KeyError(f"{method} {path}: error codes not in contract.ERRORS: {unknown}")

        def register(handler: Handler) -> Handler:
            self.endpoints.append(Endpoint(method, path, handler, self.tag, **declared))
            return handler
        return register

    def get(self, path: str, **declared: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **declared)

    def post(self, path: str, **declared: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **declared)

    def patch(self, path: str, **declared: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **declared)

    def delete(self, path: str, **declared: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **declared)

    def add_to(self, app: web.Application) -> None:
        for endpoint in self.endpoints:
            if endpoint.method == "GET":  # and HEAD, as aiohttp's add_get does
                app.router.add_get(endpoint.path, endpoint.serve)
            else:
                app.router.add_route(endpoint.method, endpoint.path, endpoint.serve)

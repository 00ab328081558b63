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

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import msgspec
import msgspec.inspect as mi
from aiohttp import web

from gateway.api.validation import ascii_number, has_control, refuse_unstorable, storable, text
from gateway.errors import InvalidInput, Malformed, UnsupportedMedia
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
        _refuse_unknown_parameters(request, self.query)
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


# --- Bodies -----------------------------------------------------------------------------------------------------

async def read_body(request: web.Request, kind: type, optional: bool = False) -> Any:
    """The JSON body as a `kind` Struct, or the domain error the API has always answered: 415
    unsupported_media_type (not application/json), 400 invalid_json (unreadable, or not an object), 400
    unknown_field, 422 missing_field / invalid_field naming the field's path (prospect.name, numbers[2]); a NUL or
    lone surrogate anywhere is 422 invalid_field (Postgres stores neither). Text fields are then checked (see
    gateway/api/types.py text): blank or with control characters is 422 invalid_field; one-line texts stripped."""
    raw = await request.read()
    if not raw.strip() and optional:
        return kind()
    if request.content_type != "application/json":
        raise UnsupportedMedia("unsupported_media_type", "send the body as application/json")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: JSON nested deeper than the parser's stack allows; nothing we take nests that deep.
        raise Malformed("invalid_json", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise Malformed("invalid_json", "body: expected a JSON object")
    refuse_unstorable(data)
    info = mi.type_info(kind)
    try:
        value = msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        raise _first_refusal(data, info) or refusal(str(exc), info) from None
    _check_texts(value, info, "")
    return value


def _first_refusal(data: dict, info: mi.StructType) -> Exception | None:
    """As the API checked before msgspec (which stops at the first wrong key, in the body's order): an unknown
    field first, then a missing (or null) required one, then the rest."""
    names = {f.encode_name: f for f in info.fields}
    for name in data:
        if name not in names:
            return Malformed("unknown_field", f"{name[:40]}: unknown field")
    for f in info.fields:
        if f.required and data.get(f.encode_name) is None:
            return InvalidInput("missing_field", f"{f.encode_name}: required")
    return None


_MESSAGE = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_FIELD = re.compile(r"^Object (?P<kind>contains unknown|missing required) field `(?P<name>.*)`$", re.S)
_WORDS = {"`int`": "an integer", "`str`": "a string", "`array`": "a list", "`object`": "an object",
          "`bool`": "true or false", "`float`": "a number", "`null`": "null", " | ": " or "}


def refusal(message: str, info: Any) -> Exception:
    """A msgspec ValidationError's message as our error, the field's path first (prospect.name: ...)."""
    parts = _MESSAGE.match(message)
    what, path = parts["what"], (parts["path"] or "").lstrip(".")
    named = _FIELD.match(what)
    if named and named["kind"] == "contains unknown":
        return Malformed("unknown_field", f"{_join(path, named['name'][:40])}: unknown field")
    steps, code = _walk(info, path)
    if named:
        return InvalidInput(code or "missing_field", f"{_join(path, named['name'])}: required")
    if what.endswith("got `null`"):
        required = steps[-1] if steps else True
        return InvalidInput(code or ("missing_field" if required else "invalid_field"),
                            f"{path}: required" if required else f"{path}: must not be null")
    for words, ours in _WORDS.items():
        what = what.replace(words, ours)
    return InvalidInput(code or "invalid_field", f"{path}: {what[0].lower()}{what[1:]}")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _walk(info: Any, path: str) -> tuple[list[bool], str | None]:
    """Along the path (a.b[2].c) through the type: whether each named field is required, and the innermost
    Meta(extra={"code"}) on the way (it replaces invalid_field and missing_field)."""
    required, code = [], None
    for name, index in re.findall(r"\.?([^.\[\]]+)|\[(\d+)\]", path):
        info, found = _unwrap(info, want=mi.StructType if name else mi.ListType)
        code = found or code
        if isinstance(info, mi.StructType) and name:
            match = next((f for f in info.fields if f.encode_name == name), None)
            if match is None:
                break
            required.append(match.required)
            info = match.type
        elif isinstance(info, mi.ListType) and index:
            info = info.item_type
        else:
            break
    _, found = _unwrap(info)
    return required, found or code


def _unwrap(info: Any, want: type | None = None) -> tuple[Any, str | None]:
    """The type under Meta and Optional (a union's member of the wanted kind), and a Meta code on the way."""
    code = None
    while True:
        if isinstance(info, mi.Metadata):
            code = (info.extra or {}).get("code", code)
            info = info.type
        elif isinstance(info, mi.UnionType):
            members = [t for t in info.types if not isinstance(t, mi.NoneType)]
            info = next((t for t in members if want and isinstance(_unwrap(t)[0], want)), members[0])
        else:
            return info, code


def _check_texts(value: Any, info: Any, path: str) -> Any:
    """Apply the text rules to every text(...) field under value (see gateway/api/types.py); returns the value,
    a one-line text stripped."""
    if isinstance(info, mi.Metadata):
        rule = (info.extra or {}).get("text")
        if rule and isinstance(value, str):
            return text(value, path, max_length=len(value), multiline=rule == "multiline")
        return _check_texts(value, info.type, path)
    if isinstance(info, mi.UnionType):
        for member in info.types:
            core, _ = _unwrap(member)
            if _fits(value, core):
                return _check_texts(value, member, path)
    elif isinstance(info, mi.StructType) and isinstance(value, msgspec.Struct):
        for f in info.fields:
            inner = getattr(value, f.name)
            if inner is not msgspec.UNSET and inner is not None:
                setattr(value, f.name, _check_texts(inner, f.type, _join(path, f.encode_name)))
    elif isinstance(info, mi.ListType) and isinstance(value, list):
        value[:] = [_check_texts(item, info.item_type, f"{path}[{i}]") for i, item in enumerate(value)]
    return value


def _fits(value: Any, core: Any) -> bool:
    return (isinstance(core, mi.StructType) and isinstance(value, core.cls)) or (
        isinstance(core, mi.ListType) and isinstance(value, list)) or (
        isinstance(core, mi.StrType) and isinstance(value, str))


# --- Queries ----------------------------------------------------------------------------------------------------

def _refuse_unknown_parameters(request: web.Request, kind: type | None) -> None:
    """A query parameter the endpoint does not take is 422 invalid_query, as an unknown body field is refused:
    a misspelt filter ("?communtiy_id=2") must not silently list everything."""
    known = _parameter_names(kind)
    for name in request.query:
        if name not in known:
            raise InvalidInput("invalid_query", f"{name[:40]!r}: not a parameter of this endpoint"
                               + (f" (it takes {', '.join(sorted(known))})" if known else " (it takes none)"))


@functools.lru_cache(maxsize=None)
def _parameter_names(kind: type | None) -> frozenset[str]:
    return frozenset(f.encode_name for f in mi.type_info(kind).fields) if kind is not None else frozenset()


def read_query(request: web.Request, kind: type) -> Any:
    """The query parameters as a `kind` Struct: integers in ASCII digits (not "²" or "١"), texts without
    control characters, NUL or lone surrogates, of at most the field's max_length (100 when it has none);
    anything else is 422 invalid_query naming the parameter (and so is one the Struct does not name)."""
    info = mi.type_info(kind)
    given: dict[str, Any] = {}
    for f in info.fields:
        raw = request.query.get(f.encode_name)
        if raw is None:
            continue
        core, _ = _unwrap(f.type)
        if isinstance(core, mi.IntType):
            given[f.encode_name] = ascii_number(raw)
            if given[f.encode_name] is None:
                raise InvalidInput("invalid_query", f"{f.encode_name}: {_expected(f.type)}")
        elif not storable(raw) or has_control(raw) or len(raw) > _longest(core):
            raise InvalidInput("invalid_query", f"{f.encode_name}: at most {_longest(core)} printable characters")
        else:
            given[f.encode_name] = raw
    try:
        return msgspec.convert(given, kind)
    except msgspec.ValidationError as exc:
        name = (_MESSAGE.match(str(exc))["path"] or "").lstrip(".")
        match = next(f for f in info.fields if f.encode_name == name)
        raise InvalidInput("invalid_query", f"{name}: {_expected(match.type)}") from None


def _longest(core: Any) -> int:
    """How long a text parameter may be: its max_length, else 100."""
    return getattr(core, "max_length", None) or 100


def _expected(info: Any) -> str:
    """What a query parameter takes, in words: its description, or its choices."""
    described = next((i.extra_json_schema or {} for i in [info] if isinstance(i, mi.Metadata)), {})
    core, _ = _unwrap(info)
    if isinstance(core, mi.EnumType):
        return "expected one of " + ", ".join(str(member.value) for member in core.cls)
    if isinstance(core, mi.LiteralType):
        return "expected one of " + ", ".join(str(value) for value in core.values)
    if isinstance(info, mi.Metadata) and isinstance(info.type, mi.IntType):
        return described.get("description") or f"expected {info.type.ge} to {info.type.le}"
    return described.get("description") or "not a valid value"

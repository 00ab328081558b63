"""Reading a request into an endpoint's Structs (gateway/api/contract.py declares which): the JSON body and the
query parameters, each refusal as the API's error naming the field's path (a msgspec ValidationError rewritten
in our words), and the text rules applied (gateway/api/types.py text)."""

from __future__ import annotations

import functools
import re
from typing import Any

import msgspec
import msgspec.inspect as mi
from aiohttp import web

from gateway.api.validation import NO_BODY, ascii_number, has_control, json_body, refuse_unstorable, storable, text
from gateway.errors import InvalidInput, Malformed

# --- Bodies -----------------------------------------------------------------------------------------------------

async def read_body(request: web.Request, kind: type, optional: bool = False) -> Any:
    """The JSON body as a `kind` Struct, or the domain error the API has always answered: 415
    unsupported_media_type (not application/json), 400 invalid_json (unreadable, or not an object), 400
    unknown_field, 422 missing_field / invalid_field naming the field's path (prospect.name, numbers[2]); a NUL or
    lone surrogate anywhere is 422 invalid_field (Postgres stores neither). Text fields are then checked (see
    gateway/api/types.py text): blank or with control characters is 422 invalid_field; one-line texts stripped."""
    data = await json_body(request, optional)
    if data is NO_BODY:
        return kind()
    if not isinstance(data, dict):
        raise Malformed("invalid_json", "body: expected a JSON object")
    refuse_unstorable(data)
    info = mi.type_info(kind)
    try:
        value = msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        raise _first_refusal(data, info) or refusal(str(exc), info, _name_key(str(exc), data, kind)) from None
    _check_texts(value, info, "")
    return value


def _name_key(message: str, data: dict, kind: type) -> str | None:
    """msgspec names a wrong value (or key) in a map by `[...]` (`$.data[...]`), or `key` in `$.data`: the first key
    whose entry alone brings the same refusal, so the caller learns which one to fix (refusal() puts it in the
    path once the message is read: a key may hold a backtick or "- at `$", which must not be read as the path)."""
    parts = _MESSAGE.match(message)
    where = parts["path"] or ""
    if parts["key"]:
        where += "[...]"
    if "[...]" not in where:
        return None
    outer, _ = where.split("[...]", 1)
    steps = re.findall(r"\.([^.\[\]]+)|\[(\d+)\]", outer)
    try:
        container = functools.reduce(lambda node, step: node[step[0]] if step[0] else node[int(step[1])], steps,
                                     data)
    except (KeyError, IndexError, TypeError):
        # A path through a map whose key holds a dot or a bracket cannot be walked back: the refusal stays unnamed,
        # still a 422, never a 500 (no body type nests maps today).
        return None
    for key, value in container.items():
        container_alone = _copy_with(data, steps, {key: value})
        try:
            msgspec.convert(container_alone, kind)
        except msgspec.ValidationError as exc:
            if str(exc) == message:
                return key
    return None


def _copy_with(data: Any, steps: list[tuple[str, str]], replacement: Any) -> Any:
    """data with the node at steps (field names or list indexes) replaced; the rest shared, not copied."""
    if not steps:
        return replacement
    (name, index), rest = steps[0], steps[1:]
    if name:
        return {**data, name: _copy_with(data[name], rest, replacement)}
    items = list(data)
    items[int(index)] = _copy_with(items[int(index)], rest, replacement)
    return items


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


_MESSAGE = re.compile(r"^(?P<what>.*?)(?: - at (?P<key>`key` in )?`\$(?P<path>[^`]*)`)?$", re.S)
_FIELD = re.compile(r"^Object (?P<kind>contains unknown|missing required) field `(?P<name>.*)`$", re.S)
_WORDS = {"`int`": "an integer", "`str`": "a string", "`array`": "a list", "`object`": "an object",
          "`bool`": "true or false", "`float`": "a number", "`null`": "null", " | ": " or "}


def refusal(message: str, info: Any, key: str | None = None) -> Exception:
    """A msgspec ValidationError's message as our error, the field's path first (prospect.name: ...); `key`, the
    map's key at fault (_name_key), names the map's `[...]` (data.first_name) or the key itself
    (variables (key 'a b'))."""
    parts = _MESSAGE.match(message)
    what, path = parts["what"], (parts["path"] or "").lstrip(".")
    if key is not None and not parts["key"]:
        path = path.replace("[...]", f".{key[:40]}", 1)
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
    if parts["key"]:  # the key itself is refused: named after the map, in quotes (it may be any text)
        path += f" (key {key[:40]!r})" if key is not None else " (a key)"
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

def refuse_unknown_parameters(request: web.Request, kind: type | None) -> None:
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

"""GET /openapi.json: the OpenAPI 3.1 document of the internal API, generated from the endpoints' declarations
(gateway/api/contract.py) and their types (gateway/api/types.py), built once on first request. Public: it is the
contract, and holds no data."""

from __future__ import annotations

import inspect
import re
from importlib import metadata
from typing import Any, Iterable

import msgspec
from aiohttp import web

from gateway.api.contract import ERRORS, Endpoint, Error

REF = "#/components/schemas/{name}"
# Path parameters: ids are ASCII digits, at most 18 (validation.path_id); phones as in a body.
PATH = {"id": {"type": "integer", "minimum": 0, "maximum": 10 ** 18 - 1, "examples": [1]},
        "phone": {"type": "string", "minLength": 1, "examples": ["+14155552671"]}}
# Every POST's (gateway/api/idempotency.py): a retry with the same key answers what the first answered.
IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "description": "a retry with the same key, method, path and body answers what the first answered "
                                  "and runs nothing (24 hours; per token)",
                   "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"}}
STATUS_WORDS = {400: "unreadable", 401: "no or a wrong bearer token", 404: "not found", 408: "body too slow",
                409: "conflicts with what exists", 413: "body too large", 415: "not JSON",
                422: "refused by the rules", 429: "too many for now", 503: "Postgres or Redis away"}


def document(endpoints: Iterable[Endpoint]) -> dict[str, Any]:
    endpoints = list(endpoints)
    kinds = list(dict.fromkeys([Error, *(k for e in endpoints for k in (e.body, e.query, e.answer) if k)]))
    schemas, components = msgspec.json.schema_components(kinds, ref_template=REF)
    of = dict(zip(kinds, schemas))
    components["ErrorDetail"]["properties"]["code"]["enum"] = sorted(ERRORS)
    paths: dict[str, dict] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint, of, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "SMS relay gateway: internal API", "version": _version(),
                 "description": "Every error answers {\"error\": {\"code\", \"message\"}}; each operation lists the "
                                "codes it can answer under each status."},
        "paths": paths,
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }


def _version() -> str:
    try:
        return metadata.version("sms-relay-gateway")
    except metadata.PackageNotFoundError:  # a checkout run without installing
        return "0"


def _operation(endpoint: Endpoint, of: dict, components: dict) -> dict[str, Any]:
    doc = inspect.getdoc(endpoint.handler) or endpoint.handler.__name__.replace("_", " ")
    summary, _, description = doc.partition("\n")
    operation: dict[str, Any] = {
        "operationId": f"{endpoint.tag}.{endpoint.handler.__name__}", "tags": [endpoint.tag],
        "summary": summary.strip(), "parameters": _parameters(endpoint, of, components),
        "responses": {str(endpoint.status): _answer(endpoint, of), **_errors(endpoint)},
    }
    if description.strip():
        operation["description"] = description.strip()
    if endpoint.body is not None:
        operation["requestBody"] = {"required": not endpoint.optional_body,
                                    "content": {"application/json": {"schema": of[endpoint.body]}}}
    if endpoint.streamed:
        operation["requestBody"] = {"required": True, "content": endpoint.streamed}
    if endpoint.public:
        operation["security"] = []
    return operation


def _parameters(endpoint: Endpoint, of: dict, components: dict) -> list[dict]:
    found = [{"name": name, "in": "path", "required": True, "schema": PATH.get(name, {"type": "string", "minLength": 1})}
             for name in re.findall(r"{(\w+)}", endpoint.path)]
    if endpoint.query is not None:
        name = of[endpoint.query]["$ref"].rsplit("/", 1)[1]
        for key, schema in components[name]["properties"].items():
            found.append({"name": key, "in": "query", "required": False, "schema": schema,
                          **({"description": schema["description"]} if "description" in schema else {})})
    if endpoint.method == "POST" and not endpoint.public and not endpoint.streamed:
        found.append(IDEMPOTENCY_KEY)
    return found


def _answer(endpoint: Endpoint, of: dict) -> dict[str, Any]:
    if endpoint.answer is None:
        return {"description": "done; no content"}
    content = {"application/json": {"schema": of[endpoint.answer]}, **endpoint.content}
    return {"description": "the answer", "content": content}


def _errors(endpoint: Endpoint) -> dict[str, Any]:
    by_status: dict[int, list[str]] = {}
    for code in endpoint.all_errors():
        by_status.setdefault(ERRORS[code], []).append(code)
    return {str(status): {
        "description": f"{STATUS_WORDS.get(status, 'refused')}: {', '.join(codes)}",
        "content": {"application/json": {"schema": {"allOf": [
            {"$ref": REF.format(name="Error")},
            {"properties": {"error": {"properties": {"code": {"enum": codes}}}}}]}}},
    } for status, codes in sorted(by_status.items())}


def handler(endpoints: Iterable[Endpoint]):
    """GET /openapi.json for these endpoints (and itself), encoded once, on first request."""
    endpoints = list(endpoints)
    built: list[bytes] = []

    async def openapi(request: web.Request) -> web.Response:
        """The OpenAPI 3.1 document of this API (public, no token)."""
        if not built:
            itself = Endpoint("GET", "/openapi.json", openapi, "contract", answer=dict[str, Any], public=True)
            built.append(msgspec.json.encode(document([*endpoints, itself])))
        return web.Response(body=built[0], content_type="application/json")
    return openapi

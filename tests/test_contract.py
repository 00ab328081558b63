"""The API's contract: /openapi.json is served without a token and lists every route and error code, and
schemathesis, run against a live gateway (sandbox carrier, real Postgres and Redis), finds no server error, no
answer that breaks the schema and no undocumented status."""

from __future__ import annotations

import ast
import asyncio
import os
import sys
from pathlib import Path

import pytest
import schemathesis

from gateway.api import ROUTES
from gateway.api.contract import ERRORS
from gateway.errors import GatewayError
from gateway import errors
from gateway.ops.middleware import HTTP_STATUS
from tests.helpers import ALEX, PAT, PROXY, PROXY_2, TOKEN

ROOT = Path(__file__).resolve().parent.parent
# Checks that the issue names: 0 server errors, 0 answers that break the schema; and every status documented.
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def _raised_codes() -> dict[str, int]:
    """Every code the gateway (carriers aside: their webhooks are not the internal API) raises as a constant, with
    the status its error class answers."""
    classes = {name: cls for name, cls in vars(errors).items() if isinstance(cls, type)
               and issubclass(cls, GatewayError)}
    found = {}
    for path in (ROOT / "gateway").rglob("*.py"):
        if "carriers" in path.parts or path.name == "receiving.py" or path.name == "statuses.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in classes
                    and node.args and isinstance(node.args[0], ast.Constant)):
                found[node.args[0].value] = HTTP_STATUS[classes[node.func.id]]
    return found


def test_every_code_the_api_raises_is_in_the_contract_with_its_status():
    raised = _raised_codes()
    assert {"number_taken", "invalid_json", "conversation_exists"} <= raised.keys()  # the scan sees them
    assert {code: status for code, status in raised.items() if ERRORS.get(code) != status} == {}


async def test_the_contract_is_public_and_lists_every_route(start_gateway):
    gateway = await start_gateway(kind="sandbox")
    status, document = await gateway.call("GET", "/openapi.json", token=None)
    assert status == 200 and document["openapi"] == "3.1.0"
    declared = {(e.method.lower(), e.path) for routes in ROUTES for e in routes.endpoints}
    served = {(method, path) for path, operations in document["paths"].items() for method in operations}
    assert declared | {("get", "/openapi.json")} == served
    schema = schemathesis.openapi.from_dict(document)  # a valid OpenAPI document, or this raises
    assert len(list(schema.get_all_operations())) == len(served)
    start = document["paths"]["/v1/conversations"]["post"]
    assert set(start["responses"]) == {"201", "400", "401", "403", "408", "404", "409", "413", "415", "422",
                                       "503"}  # 403: a read-only token
    refused = start["responses"]["409"]["content"]["application/json"]["schema"]["allOf"][1]
    assert "conversation_exists" in refused["properties"]["error"]["properties"]["code"]["enum"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    # The lists, a community's numbers, the event log, replays and secrets are in the contract.
    assert {("get", "/v1/communities"), ("get", "/v1/conversations"), ("get", "/v1/messages"),
            ("get", "/v1/verifications"), ("post", "/v1/communities/{id}/numbers"),
            ("delete", "/v1/communities/{id}/numbers/{phone}"), ("get", "/v1/communities/{id}/events"),
            ("post", "/v1/communities/{id}/events/{delivery_id}/replay"),
            ("post", "/v1/communities/{id}/events/replay")} <= served
    assert {("get", "/v1/communities/{id}/event-secret"), ("get", "/v1/event-secret")} <= served
    removal = document["paths"]["/v1/communities/{id}/numbers/{phone}"]["delete"]["responses"]["409"]
    assert removal["content"]["application/json"]["schema"]["allOf"][1]["properties"]["error"]["properties"][
        "code"]["enum"] == ["number_in_use", "last_number"]


async def _seeded(start_gateway):
    """A gateway with one of everything, so ids 1 answer something other than 404 too: event deliveries (to a
    URL nobody answers, retried) and a second number, so that the log, replays and removing a number have
    something to work on."""
    gateway = await start_gateway(kind="sandbox", hooks={"event_url": "http://127.0.0.1:9/events"})
    community = await gateway.community(numbers=(PROXY, PROXY_2), event_url="http://127.0.0.1:9/hook")
    await gateway.conversation(community["id"])
    status, body = await gateway.call("POST", "/v1/verifications", {"community_id": community["id"], "phone": PAT})
    assert status == 201, body
    status, body = await gateway.call("POST", f"/v1/communities/{community['id']}/allow-list",
                                      {"numbers": [PAT, ALEX]})
    assert status == 200, body
    return gateway


# Its run grows with the API (every endpoint is fuzzed): about 30 s alone on the 2-core box, several times that
# when the box is busy; the budget is for a busy box, not a promise of speed.
@pytest.mark.timeout(600)
async def test_schemathesis_finds_nothing_against_a_live_gateway(start_gateway, tmp_path):
    gateway = await _seeded(start_gateway)
    url = f"http://127.0.0.1:{gateway.config.server.port}/openapi.json"
    # The CLI in a subprocess: the gateway keeps serving in this test's event loop meanwhile.
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "schemathesis.cli", "run", url, "-H", f"Authorization: Bearer {TOKEN}",
        "--checks", CHECKS, "--max-examples", os.environ.get("CONTRACT_EXAMPLES", "30"), "--seed", "1",
        "--phases", "examples,coverage,fuzzing", "--generation-database", "none", "--workers", "1",
        "--request-timeout", "10", "--no-color", "--suppress-health-check", "all",
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), 570)
    report = output.decode(errors="replace")
    assert process.returncode == 0, report[-8000:]


# (body, status, code, the message's start): msgspec's refusals, answered as the API always has.
BODIES = [
    ({"community_id": 1, "prospect": {"phone": PAT, "name": "Pat", "age": 3}, "advocate": {}, "message": "hi"},
     400, "unknown_field", "prospect.age: unknown field"),
    ({"community_id": 1, "prospect": {"phone": PAT}, "advocate": {"phone": ALEX, "name": "Alex"}, "message": "hi"},
     422, "missing_field", "prospect.name: required"),
    ({"community_id": None, "prospect": {}, "advocate": {}, "message": "hi"}, 422, "missing_field",
     "community_id: required"),
    ({"community_id": "1", "prospect": {}, "advocate": {}, "message": "hi", "x": 1}, 400, "unknown_field", "x:"),
    ({"community_id": 1.5, "prospect": {}, "advocate": {}, "message": "hi"}, 422, "invalid_field",
     "community_id: expected an integer"),
    ({"community_id": 1, "prospect": {"phone": PAT, "name": " "}, "advocate": {"phone": ALEX, "name": "Alex"},
      "message": "hi"}, 422, "invalid_field", "prospect.name: must not be empty"),
    ({"community_id": 1, "prospect": {"phone": PAT, "name": "P\x07t"}, "advocate": {"phone": ALEX, "name": "A"},
      "message": "hi"}, 422, "invalid_field", "prospect.name: contains control characters"),
    ({"community_id": 1, "prospect": {"phone": PAT, "name": "P" * 61}, "advocate": {"phone": ALEX, "name": "A"},
      "message": "hi"}, 422, "invalid_field", "prospect.name: expected a string of length <= 60"),
    ([1], 400, "invalid_json", "body: expected a JSON object"),
]


async def test_bodies_are_refused_with_the_apis_codes_and_paths(start_gateway):
    gateway = await start_gateway(kind="sandbox")
    for body, status, code, message in BODIES:
        got, answer = await gateway.call("POST", "/v1/conversations", body)
        assert (got, answer["error"]["code"]) == (status, code), (body, answer)
        assert answer["error"]["message"].startswith(message), (body, answer)


async def test_a_null_setting_that_cannot_be_cleared_is_refused_and_one_that_can_is_cleared(start_gateway):
    gateway = await start_gateway(kind="sandbox")
    community = await gateway.community(sender_name="Maple")
    status, answer = await gateway.call("PATCH", f"/v1/communities/{community['id']}", {"name": None})
    assert (status, answer["error"]) == (422, {"code": "invalid_field", "message": "name: must not be null"})
    status, answer = await gateway.call("PATCH", f"/v1/communities/{community['id']}",
                                        {"sender_name": None, "name": "  Maple Court "})
    assert status == 200 and (answer["sender_name"], answer["name"]) == (None, "Maple Court"), answer

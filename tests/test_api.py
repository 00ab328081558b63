"""The internal API: token, validation, errors as {"error": {"code", "message"}}, and each resource."""

import pytest
import structlog

from tests.helpers import ALEX, PAT, PROXY, PROXY_2, TOKEN


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                                     {"Authorization": "Bearer "}])
async def test_api_needs_the_bearer_token(gateway, headers):
    async with gateway.client.get("/v1/communities/1", headers=headers) as response:
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "unauthorized"


async def test_api_without_configured_token_refuses_everything(start_gateway):
    gateway = await start_gateway(server={"api_tokens": {}})
    status, body = await gateway.call("GET", "/v1/communities/1", token="")
    assert status == 401 and "GATEWAY_API_TOKEN" in body["error"]["message"]


@pytest.mark.parametrize("token", ["token-one", "token-two"])
async def test_several_named_tokens_work(start_gateway, token):
    gateway = await start_gateway(server={"api_tokens": {"web": "token-one", "ops": "token-two"}})
    status, body = await gateway.call("GET", "/v1/communities/99", token=token)
    assert (status, body["error"]["code"]) == (404, "community_not_found")  # past the token check


async def test_community_create_get_patch(gateway):
    community = await gateway.community(numbers=["(415) 555-0100", "+1 415 555 0101"], inactivity_days=7)
    assert community["numbers"] == [PROXY, PROXY_2]  # stored as E.164
    assert (community["mode"], community["inactivity_days"], community["daily"]["used"]) == ("live", 7, 0)
    status, body = await gateway.call("PATCH", f"/v1/communities/{community['id']}", {"mode": "test"})
    assert status == 200 and body["mode"] == "test" and body["name"] == "Acme Housing"
    status, body = await gateway.call("GET", f"/v1/communities/{community['id']}")
    assert status == 200 and body["mode"] == "test"


async def test_new_community_starts_in_test_mode(gateway):
    status, body = await gateway.call("POST", "/v1/communities", {"name": "New", "numbers": [PROXY]})
    assert status == 201 and body["mode"] == "test" and body["inactivity_days"] == 30


async def test_a_number_belongs_to_one_community(gateway, db):
    await gateway.community()
    status, body = await gateway.call("POST", "/v1/communities", {"name": "Other", "numbers": [PROXY]})
    assert (status, body["error"]["code"]) == (409, "number_taken")
    assert await db.fetchval("SELECT count(*) FROM communities") == 1  # nothing half-stored


@pytest.mark.parametrize("payload, status, code", [
    ({"name": "X", "numbers": ["12"]}, 422, "invalid_number"),
    ({"name": "X", "numbers": ["+44 20"]}, 422, "invalid_number"),
    ({"name": "X", "numbers": ["not a number"]}, 422, "invalid_number"),
    ({"name": "X", "numbers": []}, 422, "invalid_field"),
    ({"name": "X", "numbers": [PROXY, PROXY]}, 422, "invalid_field"),
    ({"name": "", "numbers": [PROXY]}, 422, "invalid_field"),
    ({"name": "X\x00", "numbers": [PROXY]}, 422, "invalid_field"),
    ({"name": "X", "numbers": [PROXY], "mode": "prod"}, 422, "invalid_field"),
    ({"name": "X", "numbers": [PROXY], "inactivity_days": 0}, 422, "invalid_field"),
    ({"name": "X", "numbers": [PROXY], "inactivity_days": True}, 422, "invalid_field"),
    ({"name": "X", "numbers": [PROXY], "colour": "red"}, 400, "unknown_field"),
    ({"numbers": [PROXY]}, 422, "missing_field"),
    ({"name": 5, "numbers": [PROXY]}, 422, "invalid_field"),
    ([1, 2], 400, "invalid_json"),
])
async def test_community_validation(gateway, db, payload, status, code):
    got, body = await gateway.call("POST", "/v1/communities", payload)
    assert (got, body["error"]["code"]) == (status, code)
    assert set(body["error"]) >= {"code", "message"}
    assert await db.fetchval("SELECT count(*) FROM communities") == 0


@pytest.mark.parametrize("data, content_type, status, code", [
    (b"{not json", "application/json", 400, "invalid_json"),
    (b"name=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    (b"\xff\xfe", "application/json", 400, "invalid_json"),
    (b"x" * 70000, "application/json", 413, "body_too_large"),
])
async def test_bad_bodies_get_clear_errors(gateway, data, content_type, status, code):
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": content_type}
    async with gateway.client.post("/v1/communities", data=data, headers=headers) as response:
        body = await response.json()
        assert (response.status, body["error"]["code"]) == (status, code), body


@pytest.mark.parametrize("path", ["/v1/communities/999", "/v1/communities/abc", "/v1/conversations/5",
                                  "/v1/messages/7", "/v1/messages/99999999999999999999", "/v1/nothing"])
async def test_unknown_things_are_404(gateway, path):
    status, body = await gateway.call("GET", path)
    assert status == 404 and body["error"]["code"].endswith("not_found")


@pytest.mark.parametrize("change, status, code", [
    ({"prospect": {"phone": "555", "name": "Pat"}}, 422, "invalid_number"),
    ({"prospect": {"phone": PAT}}, 422, "missing_field"),
    ({"prospect": {"phone": PAT, "name": "Pat", "email": "x"}}, 400, "unknown_field"),
    ({"advocate": {"phone": PAT, "name": "Also Pat"}}, 422, "same_participant"),
    ({"advocate": {"phone": PROXY, "name": "The number"}}, 422, "participant_is_proxy"),
    ({"message": "   "}, 422, "invalid_field"),
    ({"message": "x" * 1601}, 422, "invalid_field"),
    ({"community_id": 424242}, 404, "community_not_found"),
    ({"community_id": 2**70}, 422, "invalid_field"),
    ({"prospect": "Pat"}, 422, "invalid_field"),
])
async def test_conversation_validation(gateway, db, change, status, code):
    community = await gateway.community()
    payload = {"community_id": community["id"], "prospect": {"phone": PAT, "name": "Pat"},
               "advocate": {"phone": ALEX, "name": "Alex"}, "message": "hi", **change}
    got, body = await gateway.call("POST", "/v1/conversations", payload)
    assert (got, body["error"]["code"]) == (status, code), body
    assert await db.fetchval("SELECT count(*) FROM conversations") == 0
    assert await db.fetchval("SELECT count(*) FROM messages") == 0


async def test_second_open_conversation_between_the_same_pair_is_refused(gateway):
    community = await gateway.community()
    first = await gateway.conversation(community["id"])
    status, body = await gateway.call("POST", "/v1/conversations", {
        "community_id": community["id"], "prospect": {"phone": PAT, "name": "Pat"},
        "advocate": {"phone": ALEX, "name": "Alex"}, "message": "again"})
    assert (status, body["error"]["code"], body["error"]["conversation_id"]) == (409, "conversation_exists",
                                                                                 first["id"])


async def test_closed_conversation_stops_relaying(gateway):
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    status, body = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/close",
                                      {"reason": "resolved"})
    assert (status, body["status"], body["closed_reason"]) == (200, "closed", "resolved")
    status, again = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/close")
    assert status == 200 and again["closed_reason"] == "resolved"  # closing twice changes nothing
    status, body = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                                      {"from": "prospect", "body": "hello?"})
    assert (status, body["error"]["code"]) == (409, "conversation_not_open")
    await gateway.sms(PAT, PROXY, "hello?")
    assert await gateway.delivered_to(PAT) == ["This number only relays active conversations."]


async def test_message_resource_shows_its_history(gateway):
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    [message] = await gateway.messages(conversation["id"])
    body = await gateway.message(message["id"])
    assert {"id", "direction", "from", "to", "body", "status", "carrier_sid", "error_code", "history"} <= set(body)
    assert body["history"][0]["status"] == "queued"


@pytest.mark.parametrize("payload, status, code", [
    ({"from": "someone", "body": "x"}, 422, "invalid_field"),
    ({"from": "prospect"}, 422, "missing_field"),
    ({"from": "prospect", "body": "x", "to": "y"}, 400, "unknown_field"),
])
async def test_write_message_validation(gateway, db, payload, status, code):
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    got, body = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages", payload)
    assert (got, body["error"]["code"]) == (status, code)
    assert await db.fetchval("SELECT count(*) FROM messages") == 1  # the notification only


async def test_message_list_validation(gateway):
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    status, body = await gateway.call("GET", f"/v1/conversations/{conversation['id']}/messages?limit=0")
    assert (status, body["error"]["code"]) == (422, "invalid_query")


async def test_oversized_headers_are_refused(gateway):
    async with gateway.client.get("/healthz", headers={"X-Padding": "x" * 9000}) as response:
        assert response.status == 400


async def test_tokens_never_reach_the_logs(gateway, capfd):
    await gateway.call("GET", "/v1/communities/1", token="leaky-token-123")
    await gateway.call("GET", "/v1/communities/1")
    out, err = capfd.readouterr()
    assert "leaky-token-123" not in out + err and TOKEN not in out + err


def test_a_logged_crash_carries_no_local_variables(capsys):
    from gateway.ops import logs
    from gateway.config import from_dict

    def crash(body: str) -> None:
        raise RuntimeError("boom")

    logs.configure(from_dict({"log": {"format": "json", "level": "info"}}))
    try:
        try:
            crash("the secret text of a message")
        except RuntimeError:
            structlog.get_logger("test").exception("message_send_crashed")
    finally:
        structlog.reset_defaults()
    out = capsys.readouterr().out
    assert "message_send_crashed" in out and "RuntimeError" in out
    assert "secret text" not in out

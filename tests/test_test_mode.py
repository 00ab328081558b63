"""Test mode: a community still being set up texts only its allow list; everything else is stored as blocked."""

import json

from gateway.config import from_dict
from gateway.ops import logs
from tests.helpers import ALEX, PAT, PROXY, SAM, TOKEN, wait_for


async def _test_community(gateway, allowed=()):
    community = await gateway.community(mode="test")
    if allowed:
        status, body = await gateway.call("POST", f"/v1/communities/{community['id']}/allow-list",
                                          {"numbers": list(allowed)})
        assert status == 200, body
    return community


def _metric(gateway, reason):
    return gateway.metrics.registry.get_sample_value("gateway_messages_blocked_total", {"reason": reason}) or 0


async def test_message_to_a_number_off_the_list_is_blocked_and_the_api_says_so(gateway, db):
    community = await _test_community(gateway, allowed=[PAT])
    conversation = await gateway.conversation(community["id"])
    assert conversation["notification"]["status"] == "blocked"
    assert conversation["notification"]["status_reason"] == "not_on_allow_list"
    [stored] = await gateway.messages(conversation["id"])
    assert (stored["status"], stored["status_reason"]) == ("blocked", "not_on_allow_list")
    assert _metric(gateway, "not_on_allow_list") == 1

    # The allowed prospect still gets texts; the advocate's relayed copy is blocked again.
    status, message = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                                         {"from": "advocate", "body": "Welcome!"})
    assert status == 201 and message["status"] != "blocked" and message["status_reason"] is None
    assert await gateway.delivered_to(PAT) == ["Welcome!"]
    status, _ = await gateway.sms(PAT, PROXY, "Thanks")
    assert status == 200
    assert await db.fetchval("SELECT count(*) FROM messages WHERE status = 'blocked'") == 2
    assert gateway.carrier.bodies_to(ALEX) == []  # nothing ever left for the advocate


async def test_adding_to_the_list_lets_messages_through(gateway):
    community = await _test_community(gateway, allowed=[PAT])
    conversation = await gateway.conversation(community["id"])
    status, body = await gateway.call("POST", f"/v1/communities/{community['id']}/allow-list",
                                      {"numbers": ["(415) 555-2672"]})
    assert body == {"numbers": [PAT, ALEX]}
    await gateway.sms(PAT, PROXY, "Now you can hear me")
    assert await gateway.delivered_to(ALEX) == ["Now you can hear me"]
    assert conversation["notification"]["status"] == "blocked"  # stays blocked: the list does not resend it


async def test_live_mode_ignores_the_list(gateway, capfd):
    community = await _test_community(gateway)
    logs.configure(from_dict({"log": {"format": "json", "level": "info"}}))  # the change is logged at info
    status, body = await gateway.call("PATCH", f"/v1/communities/{community['id']}", {"mode": "live"})
    assert body["mode"] == "live"
    out, _ = capfd.readouterr()
    [line] = [json.loads(line) for line in out.splitlines() if "community_mode_changed" in line]
    assert (line["old_mode"], line["new_mode"]) == ("test", "live")
    conversation = await gateway.conversation(community["id"])
    assert conversation["notification"]["status"] == "queued"
    await gateway.delivered_to(ALEX)


async def test_verification_codes_obey_the_list(gateway, db):
    community = await gateway.community(mode="test", require_verification=True)
    status, body = await gateway.call("POST", "/v1/verifications", {"community_id": community["id"], "phone": PAT})
    assert status == 201
    assert body["message"]["status"] == "blocked" and body["message"]["status_reason"] == "not_on_allow_list"
    assert await db.fetchval("SELECT status FROM messages WHERE kind = 'verification'") == "blocked"
    assert gateway.carrier.bodies_to(PAT) == []


async def test_auto_reply_obeys_the_list(gateway, db):
    await _test_community(gateway)
    status, _ = await gateway.sms(SAM, PROXY, "hello?")
    assert status == 200
    assert await db.fetchval("SELECT status_reason FROM messages WHERE kind = 'auto_reply'") == "not_on_allow_list"


async def test_allow_list_api(gateway):
    community = await _test_community(gateway)
    path = f"/v1/communities/{community['id']}/allow-list"
    assert await gateway.call("GET", path) == (200, {"numbers": []})
    assert (await gateway.call("POST", path, {"numbers": [PAT, SAM]}))[1] == {"numbers": [PAT, SAM]}
    assert (await gateway.call("POST", path, {"numbers": [PAT]}))[1] == {"numbers": [PAT, SAM]}  # no duplicates
    for numbers, code in (([ "+1 415 555 0042"], "landline"), (["+44 7400 123456"], "unsupported_country"),
                          (["nope"], "invalid_number"), ([], "invalid_field")):
        status, body = await gateway.call("POST", path, {"numbers": numbers})
        assert (status, body["error"]["code"]) == (422, code)
    async with gateway.client.delete(f"{path}/%2B14155552671", headers={"Authorization": f"Bearer {TOKEN}"}) as r:
        assert r.status == 204
    async with gateway.client.delete(f"{path}/(415)%20555-2673", headers={"Authorization": f"Bearer {TOKEN}"}) as r:
        assert r.status == 204  # national format, read with the community's region
    async with gateway.client.delete(f"{path}/%2B14155552671", headers={"Authorization": f"Bearer {TOKEN}"}) as r:
        assert (r.status, json.loads(await r.text())["error"]["code"]) == (404, "not_on_allow_list")
    assert await gateway.call("GET", path) == (200, {"numbers": []})
    assert (await gateway.call("GET", "/v1/communities/999/allow-list"))[0] == 404


async def test_countries_can_be_extended_per_community(gateway):
    community = await gateway.community()
    uk = {"community_id": community["id"], "prospect": {"phone": "+44 7400 123456", "name": "Kim"},
          "advocate": {"phone": ALEX, "name": "Alex"}, "message": "Hello from London"}
    status, body = await gateway.call("POST", "/v1/conversations", uk)
    assert (status, body["error"]["code"]) == (422, "unsupported_country")
    status, body = await gateway.call("PATCH", f"/v1/communities/{community['id']}", {"countries": ["US", "CA", "GB"]})
    assert (status, body["countries"]) == (200, ["US", "CA", "GB"])
    status, body = await gateway.call("POST", "/v1/conversations", uk)
    assert status == 201 and body["prospect"]["phone"] == "+447400123456"


async def test_landline_participants_are_refused(gateway, db):
    community = await gateway.community()
    status, body = await gateway.call("POST", "/v1/conversations", {
        "community_id": community["id"], "prospect": {"phone": "+1 415 555 0042", "name": "Desk"},
        "advocate": {"phone": ALEX, "name": "Alex"}, "message": "Hi"})
    assert (status, body["error"]["code"]) == (422, "landline")
    assert await db.fetchval("SELECT count(*) FROM participants") == 0


async def test_community_settings_are_validated(gateway):
    community = await gateway.community()
    path = f"/v1/communities/{community['id']}"
    for payload, code in (({"countries": ["USA"]}, "invalid_field"), ({"default_region": "XX"}, "invalid_field"),
                          ({"unknown_line_type": "maybe"}, "invalid_field"),
                          ({"require_verification": "yes"}, "invalid_field")):
        status, body = await gateway.call("PATCH", path, payload)
        assert (status, body["error"]["code"]) == (422, code), payload
    await wait_for(lambda: _unchanged(gateway, path), what="settings unchanged")


async def _unchanged(gateway, path):
    status, body = await gateway.call("GET", path)
    return body["countries"] == ["US", "CA"] and body["unknown_line_type"] == "accept"

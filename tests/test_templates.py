"""Message templates (issue 15): written and changed through the API, reviewed only by a token with the reviewer
right, previewed with sample data (segments, encoding, what makes a text UCS-2), and texted to a team member's phone
as a test through the normal outbound path (the fake Twilio shows what the phone got)."""

import json

import pytest

from gateway.config import ConfigError
from gateway.tokens import parse_tokens
from tests.helpers import ALEX, PAT, PROXY, TOKEN, wait_for

WRITER = "writer-token"  # a table token without reviewer = true
REVIEWER = "legal-token"
BODY = "Hi {first_name}, your {reward_amount} reward is approved!"


@pytest.fixture
async def gateway(start_gateway):
    return await start_gateway(server={"api_tokens": {"tests": TOKEN, "writer": {"token": WRITER},
                                                      "legal": {"token": REVIEWER, "reviewer": True}}})


async def create(gateway, cid, name="Reward approved", body=BODY, category="transactional") -> dict:
    status, answer = await gateway.call("POST", f"/v1/communities/{cid}/templates",
                                        {"name": name, "category": category, "body": body})
    assert status == 201, answer
    return answer


async def act(gateway, path, action, token=TOKEN, body=None):
    return await gateway.call("POST", f"{path}/{action}", body, token=token)


async def test_a_template_is_reviewed_before_it_is_approved(gateway):
    cid = (await gateway.community())["id"]
    template = await create(gateway, cid)
    assert (template["state"], template["fields"], template["reviewed_by"]) == (
        "draft", ["first_name", "reward_amount"], None)
    path = f"/v1/communities/{cid}/templates/{template['id']}"

    status, body = await act(gateway, path, "approve", token=REVIEWER)
    assert (status, body["error"]["code"]) == (409, "wrong_template_state"), body  # a draft is submitted first
    status, body = await act(gateway, path, "submit", token=WRITER)
    assert (status, body["state"]) == (200, "submitted"), body
    status, body = await act(gateway, path, "submit", token=WRITER)
    assert (status, body["error"]["code"]) == (409, "wrong_template_state")
    for action in ("approve", "reject"):
        status, body = await act(gateway, path, action, token=WRITER)
        assert (status, body["error"]["code"]) == (403, "not_a_reviewer"), body
    status, body = await act(gateway, path, "reject", token=REVIEWER, body={"note": "Say who it is from"})
    assert (status, body["state"], body["review_note"], body["reviewed_by"]) == (
        200, "rejected", "Say who it is from", "legal"), body
    assert body["reviewed_at"]

    status, body = await gateway.call("PATCH", path, {"body": "Acme: " + BODY}, token=WRITER)
    assert (status, body["state"], body["review_note"]) == (200, "draft", "Say who it is from"), body  # reviewed
    # again; the last review's note stays as the record
    await act(gateway, path, "submit", token=WRITER)
    status, body = await act(gateway, path, "approve", token=REVIEWER)
    assert (status, body["state"], body["reviewed_by"]) == (200, "approved", "legal"), body
    status, body = await act(gateway, path, "approve", token=REVIEWER)
    assert (status, body["error"]["code"]) == (409, "wrong_template_state")  # approving twice

    status, body = await gateway.call("PATCH", path, {"name": "Reward approved (v2)"})
    assert (status, body["state"], body["name"]) == (200, "approved", "Reward approved (v2)")  # a name sends nothing
    status, body = await gateway.call("PATCH", path, {"category": "marketing"})
    assert (status, body["state"]) == (200, "draft")  # nor does it send as approved under another category
    await act(gateway, path, "submit")
    status, body = await act(gateway, path, "approve")  # the plain-string token reviews (it can do everything)
    assert (status, body["state"], body["reviewed_by"]) == (200, "approved", "tests")


async def test_an_approval_and_a_rejection_are_events(gateway, db):
    cid = (await gateway.community(event_url="http://127.0.0.1:9/events",
                                   event_types=["template.approved", "template.rejected"]))["id"]
    first, second = await create(gateway, cid), await create(gateway, cid, name="Other", body="Hello")
    for template, action in ((first, "approve"), (second, "reject")):
        path = f"/v1/communities/{cid}/templates/{template['id']}"
        await act(gateway, path, "submit")
        assert (await act(gateway, path, action, token=REVIEWER, body={"note": "ok"}))[0] == 200
    rows = await db.fetch("SELECT event, payload FROM webhook_deliveries ORDER BY id")
    assert [row["event"] for row in rows] == ["template.approved", "template.rejected"]
    data = json.loads(rows[1]["payload"])["data"]
    assert data == {"community_id": cid, "template_id": second["id"], "name": "Other", "category": "transactional",
                    "state": "rejected", "note": "ok", "reviewed_by": "legal"}


async def test_templates_are_listed_found_renamed_and_deleted(gateway, db):
    cid = (await gateway.community())["id"]
    first = await create(gateway, cid)
    second = await create(gateway, cid, name="Welcome", body="Welcome {first_name}!", category="marketing")
    status, body = await gateway.call("POST", f"/v1/communities/{cid}/templates",
                                      {"name": "Welcome", "category": "marketing", "body": "Again"})
    assert (status, body["error"]["code"]) == (409, "template_name_taken")
    status, body = await gateway.call("PATCH", f"/v1/communities/{cid}/templates/{first['id']}", {"name": "Welcome"})
    assert (status, body["error"]["code"]) == (409, "template_name_taken")
    status, body = await gateway.call("GET", f"/v1/communities/{cid}/templates?limit=1")
    assert [t["id"] for t in body["templates"]] == [first["id"]]
    status, body = await gateway.call("GET", f"/v1/communities/{cid}/templates?after={first['id']}")
    assert [t["name"] for t in body["templates"]] == ["Welcome"]
    await act(gateway, f"/v1/communities/{cid}/templates/{second['id']}", "submit")
    status, body = await gateway.call("GET", f"/v1/communities/{cid}/templates?state=submitted")
    assert [t["id"] for t in body["templates"]] == [second["id"]]
    other = (await gateway.community(numbers=("+14155550109",), name="Other"))["id"]
    for method in ("GET", "DELETE"):
        status, body = await gateway.call(method, f"/v1/communities/{other}/templates/{first['id']}")
        assert (status, body["error"]["code"]) == (404, "template_not_found")  # another community's
    status, _ = await gateway.call("DELETE", f"/v1/communities/{cid}/templates/{second['id']}")
    assert status == 204
    # One a message was sent from stays: the message names it.
    path = f"/v1/communities/{cid}/templates/{first['id']}"
    status, sent = await act(gateway, path, "test", body={"to": ALEX, "data": {"first_name": "Al",
                                                                                "reward_amount": "$5"}})
    assert status == 201, sent
    status, body = await gateway.call("DELETE", path)
    assert (status, body["error"]["code"]) == (409, "template_in_use")
    assert await db.fetchval("SELECT count(*) FROM templates") == 1


async def test_a_preview_names_the_curly_quote_that_doubles_the_cost(gateway):
    cid = (await gateway.community())["id"]
    body = "It\u2019s your day, {first_name}! " + "Earn more with every friend you refer to us this spring. " * 2
    template = await create(gateway, cid, body=body)
    status, shown = await gateway.call("POST", f"/v1/communities/{cid}/templates/{template['id']}/preview",
                                       {"data": {"first_name": "Ana"}})
    assert status == 200, shown
    assert shown["text"].startswith("It\u2019s your day, Ana! ") and shown["missing"] == []
    assert (shown["encoding"], shown["segments"], shown["characters"]) == ("UCS-2", 2, len(shown["text"]))
    assert shown["non_gsm_characters"] == [{"character": "\u2019", "code_point": "U+2019"}]
    assert shown["warnings"] == ["\u2019 (U+2019) makes this text UCS-2: 2 segments instead of 1 (write ' for \u2019)"]
    first = shown["first_text"]
    assert first["text"] == f"Acme Housing: {shown['text']} Reply STOP to opt out." and first["segments"] == 3

    status, plain = await gateway.call("POST", f"/v1/communities/{cid}/templates/preview",
                                       {"body": body.replace("\u2019", "'"), "data": {}})
    assert status == 200, plain
    assert (plain["encoding"], plain["segments"], plain["missing"]) == ("GSM-7", 1, ["first_name"])
    assert plain["text"].startswith("It's your day, {first_name}! ")
    assert plain["warnings"] == ["no sample value for first_name: shown as {first_name}"]
    status, empty = await gateway.call("POST", f"/v1/communities/{cid}/templates/{template['id']}/preview")
    assert status == 200 and empty["missing"] == ["first_name"]  # no body: no sample data


async def test_send_test_texts_a_team_member_through_the_normal_path(gateway, db):
    cid = (await gateway.community())["id"]
    template = await create(gateway, cid)  # a draft: a test goes in any state
    path = f"/v1/communities/{cid}/templates/{template['id']}/test"
    status, body = await gateway.call("POST", path, {"to": ALEX, "data": {"first_name": "Al"}})
    assert (status, body["error"]["code"]) == (422, "missing_fields") and "reward_amount" in body["error"]["message"]
    # The contact's own fields fill in what the data leaves out.
    assert (await gateway.call("PUT", f"/v1/communities/{cid}/contacts/%2B{ALEX[1:]}",
                               {"fields": {"first_name": "Alex", "reward_amount": "$20"}}))[0] == 200
    status, sent = await gateway.call("POST", path, {"to": ALEX, "data": {"first_name": "Al"}})
    assert status == 201, sent
    assert (sent["kind"], sent["to"], sent["from"], sent["body"]) == (
        "template_test", ALEX, PROXY, "[Test] Hi Al, your $20 reward is approved!")
    await wait_for(lambda: _bodies(gateway, ALEX), what="the test text")
    assert gateway.carrier.raw_bodies_to(ALEX) == [
        "Acme Housing: [Test] Hi Al, your $20 reward is approved! Reply STOP to opt out."]  # a first text
    assert await db.fetchval("SELECT template_id FROM messages WHERE id = $1", sent["id"]) == template["id"]

    await gateway.sms(PAT, PROXY, "STOP")
    status, body = await gateway.call("POST", path, {"to": PAT, "data": {"first_name": "P", "reward_amount": "1"}})
    assert (status, body["error"]["code"]) == (409, "recipient_opted_out") and body["error"]["message_id"]
    status, body = await gateway.call("POST", path, {"to": "+14155550042", "data": {}})
    assert (status, body["error"]["code"]) == (422, "landline")


async def _bodies(gateway, phone):
    return gateway.carrier.raw_bodies_to(phone)


async def test_a_test_in_test_mode_reaches_only_the_allow_list(gateway):
    cid = (await gateway.community(mode="test"))["id"]
    template = await create(gateway, cid, body="Hello")
    path = f"/v1/communities/{cid}/templates/{template['id']}/test"
    status, sent = await gateway.call("POST", path, {"to": ALEX})
    assert (status, sent["status"], sent["status_reason"]) == (201, "blocked", "not_on_allow_list"), sent
    await gateway.call("POST", f"/v1/communities/{cid}/allow-list", {"numbers": [ALEX]})
    status, sent = await gateway.call("POST", path, {"to": ALEX})
    assert (status, sent["status"]) == (201, "queued"), sent


@pytest.mark.parametrize("method, suffix, body, status, code", [
    ("POST", "", {"name": "", "category": "marketing", "body": "x"}, 422, "invalid_field"),
    ("POST", "", {"name": "x" * 101, "category": "marketing", "body": "x"}, 422, "invalid_field"),
    ("POST", "", {"name": "a\nb", "category": "marketing", "body": "x"}, 422, "invalid_field"),
    ("POST", "", {"name": "N", "category": "promo", "body": "x"}, 422, "invalid_field"),
    ("POST", "", {"name": "N", "category": "marketing", "body": "  "}, 422, "invalid_field"),
    ("POST", "", {"name": "N", "category": "marketing", "body": "x" * 1601}, 422, "invalid_field"),
    ("POST", "", {"name": "N", "category": "marketing"}, 422, "missing_field"),
    ("POST", "", {"name": "N", "category": "marketing", "body": "x", "state": "approved"}, 400, "unknown_field"),
    ("PATCH", "/1", {"state": "approved"}, 400, "unknown_field"),
    ("PATCH", "/1", {"body": ""}, 422, "invalid_field"),
    ("PATCH", "/1", {"category": "other"}, 422, "invalid_field"),
    ("POST", "/1/reject", {"note": "a\x00"}, 422, "invalid_field"),
    ("POST", "/1/preview", {"data": {"First": "x"}}, 422, "invalid_field"),
    ("POST", "/1/preview", {"data": {"first_name": 1}}, 422, "invalid_field"),
    ("POST", "/1/preview", {"data": {"first_name": "a\nb"}}, 422, "invalid_field"),
    ("POST", "/preview", {"data": {}}, 422, "missing_field"),
    ("POST", "/1/test", {"data": {}}, 422, "missing_field"),
    ("POST", "/1/test", {"to": "12"}, 422, "invalid_number"),
    ("POST", "/1/test", {"to": "+442071838750"}, 422, "unsupported_country"),
    ("GET", "/9", None, 404, "template_not_found"),
    ("GET", "/x", None, 404, "template_not_found"),
    ("POST", "/1/submit", {"note": "x"}, 400, "invalid_body"),
])
async def test_bad_template_input_is_refused(gateway, db, method, suffix, body, status, code):
    cid = (await gateway.community())["id"]
    await create(gateway, cid, body="Hello")
    got, answer = await gateway.call(method, f"/v1/communities/{cid}/templates{suffix}", body)
    assert (got, answer["error"]["code"]) == (status, code), answer
    row = await db.fetchrow("SELECT name, body, state, review_note FROM templates")
    assert tuple(row) == ("Reward approved", "Hello", "draft", None)  # nothing changed
    assert await db.fetchval("SELECT count(*) FROM messages WHERE kind = 'template_test'") == 0


def test_which_tokens_review():
    plain, table, legal = parse_tokens({"platform": "p-token", "ops": {"token": "o-token"},
                                        "legal": {"token": "l-token", "reviewer": True}})
    assert (plain.reviewer, table.reviewer, legal.reviewer) == (True, False, True)
    for bad in ({"token": "t", "reviewer": "yes"}, {"token": "t", "reviewer": True, "read_only": True}):
        with pytest.raises(ConfigError, match="server.api_tokens.x.reviewer"):
            parse_tokens({"x": bad})

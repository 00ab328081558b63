"""Broadcasts: what their API takes and refuses, scheduling in the community's time zone, a phone list's
recipients, the pages and lists; and the pure rules' tables (gateway/broadcasting/rules.py)."""

from datetime import datetime, timezone

import pytest

from gateway.broadcasting import rules
from gateway.errors import InvalidInput
from gateway.vocabulary import (MessageKind, MessageStatus, Preference, Priority, SkipReason, TemplateCategory,
                                TemplateOutcome)
from tests.helpers import PAT, PROXY, SAM, wait_for
from tests.test_broadcasts import FAST, _state, broadcast, contacts
from tests.test_sends import LANDLINE, contact, post, template

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, expected", [
    (None, NOW),
    ("2026-12-01T10:00", datetime(2026, 12, 1, 18, 0, tzinfo=timezone.utc)),  # naive: Los Angeles time
    ("2026-12-01T10:00:00-05:00", datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)),  # an offset: that instant
    ("2026-12-01T10:00:00Z", datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)),
    ("2027-07-01T10:00", datetime(2027, 7, 1, 17, 0, tzinfo=timezone.utc)),  # summer: PDT
    ("2020-01-01T00:00", NOW),  # past: at once
])
def test_send_time(value, expected):
    assert rules.send_time(value, "America/Los_Angeles", NOW) == expected


@pytest.mark.parametrize("value", ["tomorrow", "2026-13-01T10:00", "2028-01-01T00:00", ""])
def test_send_time_refused(value):
    with pytest.raises(InvalidInput):
        rules.send_time(value, "UTC", NOW)


@pytest.mark.parametrize("category, preference, skip", [
    (TemplateCategory.MARKETING, Preference.OPTED_IN, None),
    (TemplateCategory.MARKETING, Preference.UNKNOWN, SkipReason.NOT_OPTED_IN),
    (TemplateCategory.MARKETING, Preference.OPTED_OUT, SkipReason.OPTED_OUT),
    (TemplateCategory.TRANSACTIONAL, Preference.UNKNOWN, None),
    (TemplateCategory.TRANSACTIONAL, Preference.OPTED_IN, None),
    (TemplateCategory.TRANSACTIONAL, Preference.OPTED_OUT, SkipReason.OPTED_OUT),
])
def test_audience_rule(category, preference, skip):
    assert rules.audience_skip(category, preference) == skip


@pytest.mark.parametrize("status, reason, outcome", [
    (MessageStatus.QUEUED, None, TemplateOutcome.PROCESSING), (MessageStatus.SUBMITTING, None, "processing"),
    (MessageStatus.ACCEPTED, None, "completed"), (MessageStatus.SENT, None, "completed"),
    (MessageStatus.DELIVERED, None, "delivered"), (MessageStatus.READ, None, "delivered"),
    (MessageStatus.HELD, "daily_limit", "rate_limited"), (MessageStatus.HELD, "monthly_limit", "rate_limited"),
    (MessageStatus.HELD, "restricted", "held"), (MessageStatus.BLOCKED, "dnd", "blocked"),
    (MessageStatus.FAILED, None, "failed"), (MessageStatus.UNDELIVERED, None, "failed"),
    (MessageStatus.CANCELED, "broadcast_canceled", "canceled"),
])
def test_outcome_words(status, reason, outcome):
    assert rules.outcome(status, reason) == outcome


def test_every_status_has_one_group():
    assert {rules.status_group(s) for s in MessageStatus if s != MessageStatus.RECEIVED} == set(rules.STATUS_GROUPS)


@pytest.mark.parametrize("code, skip", [("invalid_number", "invalid_number"), ("unsupported_country",
                                        "country_not_supported"), ("landline", "not_mobile"), ("toll_free",
                                        "not_mobile"), ("unknown_line_type", "not_mobile")])
def test_phone_refusals_as_skips(code, skip):
    assert rules.phone_skip(code) == skip


def test_merge_values_and_lanes():
    assert rules.merge_values("Ana Ruiz", {"first_name": "Ana", "code": "A1"}, {"code": "B2"}) == {
        "name": "Ana Ruiz", "first_name": "Ana", "code": "B2"}
    assert rules.merge_values(None, {}, {}) == {}  # no first_name made up from a name
    assert rules.priority(MessageKind.TRIGGERED, TemplateCategory.TRANSACTIONAL) == Priority.RELAY
    assert rules.priority(MessageKind.TRIGGERED, TemplateCategory.MARKETING) == Priority.BULK
    assert rules.priority(MessageKind.BROADCAST, TemplateCategory.TRANSACTIONAL) == Priority.BULK


def test_sender_pool_keeps_categories_and_assignments_apart():
    numbers = [rules.SendingNumber("+3", TemplateCategory.MARKETING), rules.SendingNumber("+2", None),
               rules.SendingNumber("+1", None, member="+9"), rules.SendingNumber("+4", None, team_id=1),
               rules.SendingNumber("+5", TemplateCategory.TRANSACTIONAL, team_id=2)]
    assert rules.sender_pool(numbers, TemplateCategory.MARKETING) == ["+3"]
    assert rules.sender_pool(numbers, TemplateCategory.TRANSACTIONAL) == ["+2"]  # its own is a team's
    assert rules.sender_pool(numbers[2:4], TemplateCategory.MARKETING) == []


BAD = [
    ({}, 422, "missing_field"),
    ({"template_id": 1}, 422, "missing_field"),
    ({"template_id": 1, "audience": {}}, 422, "invalid_field"),
    ({"template_id": 1, "audience": {"phones": [PAT], "filter": {}}}, 422, "invalid_field"),
    ({"template_id": 1, "audience": {"phones": []}}, 422, "invalid_field"),
    ({"template_id": 1, "audience": {"phones": "x"}}, 422, "invalid_field"),
    ({"template_id": 1, "audience": {"phones": [5]}}, 422, "invalid_number"),
    ({"template_id": 1, "audience": {"phones": ["1"] * 4001}}, 422, "invalid_field"),
    ({"template_id": 1, "audience": {"phones": [PAT] * 5000}}, 413, "body_too_large"),
    ({"template_id": 1, "audience": {"filter": {"preference": "maybe"}}}, 422, "invalid_field"),
    ({"template_id": 1, "audience": {"filter": {"tag": ""}}}, 422, "invalid_field"),
    ({"template_id": 1, "audience": {"filter": {"tag": "x" * 65}}}, 422, "invalid_field"),
    ({"template_id": 1, "audience": {"filter": {"color": "red"}}}, 400, "unknown_field"),
    ({"template_id": 1, "audience": {"list": [PAT]}}, 400, "unknown_field"),
    ({"template_id": 1, "audience": {"filter": {}}, "data": {"x": ["y"]}}, 422, "invalid_field"),
    ({"template_id": 1, "audience": {"filter": {}}, "data": {"1x": "y"}}, 422, "invalid_field"),
    ({"template_id": 1, "audience": {"filter": {}}, "send_at": "soon"}, 422, "invalid_field"),
    ({"template_id": 1, "audience": {"filter": {}}, "send_at": 1700000000}, 422, "invalid_field"),
    ({"template_id": 1, "audience": {"filter": {}}, "send_at": "2099-01-01T00:00"}, 422, "invalid_field"),
    ({"template_id": "1", "audience": {"filter": {}}}, 422, "invalid_field"),
    ({"template_id": 2 ** 62, "audience": {"filter": {}}}, 422, "invalid_field"),
    ({"template_id": 999, "audience": {"filter": {}}}, 404, "template_not_found"),
    ({"template_id": 1, "audience": {"filter": {}}, "more": 1}, 400, "unknown_field"),
]


@pytest.mark.parametrize("body, status, code", BAD)
async def test_bad_broadcasts_are_refused_with_an_error_body(gateway, db, body, status, code):
    community = (await gateway.community(quiet_hours=False))["id"]
    await template(gateway, community, body="Hi.")
    got, answer, _ = await post(gateway, f"/v1/communities/{community}/broadcasts", body)
    assert (got, answer["error"]["code"]) == (status, code), answer
    assert await db.fetchval("SELECT count(*) FROM broadcasts") == 0


async def test_bad_paths_and_queries(gateway, db):
    community = (await gateway.community(quiet_hours=False))["id"]
    for path, status, code in [(f"/v1/communities/{community}/broadcasts/99", 404, "broadcast_not_found"),
                               (f"/v1/communities/{community}/broadcasts/x", 404, "not_found"),
                               (f"/v1/communities/{community}/broadcasts/99/recipients", 404, "broadcast_not_found"),
                               (f"/v1/communities/{community}/broadcasts?limit=0", 422, "invalid_query"),
                               (f"/v1/communities/{community}/broadcasts?state=running", 422, "invalid_query"),
                               ("/v1/communities/99/broadcasts", 404, "community_not_found")]:
        got, answer = await gateway.call("GET", path)
        assert (got, answer["error"]["code"]) == (status, code), (path, answer)
    got, answer, _ = await post(gateway, f"/v1/communities/{community}/broadcasts/99/cancel", None)
    assert (got, answer["error"]["code"]) == (404, "broadcast_not_found")
    got, answer, _ = await post(gateway, f"/v1/communities/{community}/broadcasts/99/cancel", {"now": True})
    assert (got, answer["error"]["code"]) == (400, "invalid_body")


async def test_a_phone_list_any_phone_once_and_unreadable_ones_skipped(start_gateway, db):
    gateway = await start_gateway(**FAST)
    community = (await gateway.community(timezone="America/Los_Angeles", quiet_hours=False))["id"]
    tid = await template(gateway, community, body="Reward for {name}: {reward_amount}", name="reward")
    await contact(db, community, PAT, name="Pat")
    phones = [PAT, "(415) 555-2671", SAM, "+1 555", LANDLINE, "+44 7400 123456", PROXY, "nope"]
    status, created, _ = await post(gateway, f"/v1/communities/{community}/broadcasts", {
        "template_id": tid, "audience": {"phones": phones}, "data": {"reward_amount": "$5"}})
    assert status == 201, created
    assert created["audience"] == {"phones": 7} and created["progress"]["total"] == 7  # PAT once
    body = await wait_for(lambda: _state(gateway, community, created["id"], "completed"), what="completed")
    # SAM has no contact: transactional, they are texted; with no name the template cannot be rendered for them.
    assert body["outcomes"]["skipped"] == {"invalid_number": 3, "not_mobile": 1, "country_not_supported": 1,
                                           "missing_fields": 1}
    assert body["outcomes"]["messages"]["queued"] + body["outcomes"]["messages"]["sent"] == 1
    [sent] = await gateway.delivered_to(PAT)
    assert sent == "Reward for Pat: $5"
    status, page = await gateway.call("GET", f"/v1/communities/{community}/broadcasts/{created['id']}/recipients"
                                             "?limit=3")
    assert [r["phone"] for r in page["recipients"]] == [PAT, SAM, LANDLINE]
    assert page["recipients"][0]["message_id"] and page["recipients"][0]["outcome"] == "sent"
    status, rest = await gateway.call("GET", f"/v1/communities/{community}/broadcasts/{created['id']}/recipients"
                                             f"?after={page['recipients'][-1]['id']}")
    assert len(rest["recipients"]) == 4 and {r["skip_reason"] for r in rest["recipients"]} == {
        "country_not_supported", "invalid_number"}
    status, log = await gateway.call("GET", f"/v1/communities/{community}/templates/{tid}/outcomes")
    assert log["broadcasts"][0]["broadcast_id"] == created["id"] and log["broadcasts"][0]["messages"] == 1


async def test_a_broadcast_waits_for_its_time_in_the_communitys_zone(start_gateway, db):
    gateway = await start_gateway(**FAST)
    community = (await gateway.community(timezone="America/Los_Angeles", quiet_hours=False))["id"]
    tid = await template(gateway, community, body="Sale!", category="marketing")
    await contacts(db, community, [PAT], marketing="opted_in", preference="opted_in")
    status, created, _ = await post(gateway, f"/v1/communities/{community}/broadcasts", {
        "template_id": tid, "audience": {"filter": {"preference": "opted_in"}}, "send_at": "2026-12-24T09:00"})
    expected = datetime(2026, 12, 24, 17, 0, tzinfo=timezone.utc)
    if expected < datetime.now(timezone.utc):  # the tests' clock is past it: the rule is what counts
        pytest.skip("the machine's clock is past the example date")
    assert datetime.fromisoformat(created["send_at"]) == expected
    assert (created["state"], created["progress"]["total"]) == ("scheduled", 0)  # a filter is read at the start
    status, listed = await gateway.call("GET", f"/v1/communities/{community}/broadcasts")
    assert [b["id"] for b in listed["broadcasts"]] == [created["id"]] and "progress" not in listed["broadcasts"][0]
    # Its time comes (moved, as if the day had come): it starts and reads its filter then.
    await db.execute("UPDATE broadcasts SET send_at = now() WHERE id = $1", created["id"])
    body = await wait_for(lambda: _state(gateway, community, created["id"], "completed"), what="completed")
    assert body["progress"]["total"] == 1 and body["started_at"]
    await gateway.delivered_to(PAT)


async def test_a_token_of_another_community_finds_nothing(start_gateway, db):
    gateway = await start_gateway(server={"api_tokens": {"tests": "test-api-token", "other": {
        "token": "other-token", "communities": [2]}}}, **FAST)
    community = (await gateway.community(quiet_hours=False))["id"]
    tid = await template(gateway, community, body="Hi.")
    status, created, _ = await post(gateway, f"/v1/communities/{community}/broadcasts",
                                    {"template_id": tid, "audience": {"phones": [PAT]}})
    assert status == 201
    status, body = await gateway.call("GET", f"/v1/communities/{community}/broadcasts/{created['id']}",
                                      token="other-token")
    assert (status, body["error"]["code"]) == (404, "community_not_found")
    assert (await broadcast(gateway, community, created["id"]))["id"] == created["id"]


async def test_a_retried_create_makes_one_broadcast(gateway, db):
    community = (await gateway.community(quiet_hours=False))["id"]
    tid = await template(gateway, community, body="Hi.")
    request = {"template_id": tid, "audience": {"phones": [PAT, SAM]}, "send_at": "2027-01-01T09:00"}
    first = await post(gateway, f"/v1/communities/{community}/broadcasts", request, key="january")
    second = await post(gateway, f"/v1/communities/{community}/broadcasts", request, key="january")
    assert first[0] == second[0] == 201 and first[1] == second[1] and second[2]
    assert await db.fetchval("SELECT count(*) FROM broadcasts") == 1
    assert await db.fetchval("SELECT count(*) FROM broadcast_recipients") == 2

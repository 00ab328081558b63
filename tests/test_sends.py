"""Triggered sends: an approved template to one phone, as the platform's automations send one (README "Triggered
sends"), and a template's outcome log. Templates are made and reviewed through the templates API."""

import json

import pytest

from gateway.broadcasting import rules
from gateway.vocabulary import TemplateCategory
from tests.fakes import IDENTIFIED_AFTER, IDENTIFIED_BEFORE
from tests.helpers import PAT, PROXY, PROXY_2, PROXY_3, SAM, TOKEN, wait_for

LANDLINE = "+14155550042"  # the sandbox lookup's landline range (README "Number validation")


async def template(gateway, community_id, body="Hi {name}, your {reward_amount} reward is approved.",
                   category="transactional", state="approved", name=None) -> int:
    """A template in a review state, made and reviewed through the templates API (README "Templates")."""
    base = f"/v1/communities/{community_id}/templates"
    status, made = await gateway.call("POST", base, {"name": name or f"t-{category}-{state}-{body[:20]}",
                                                     "category": category, "body": body})
    assert status == 201, made
    steps = {"draft": [], "submitted": ["submit"], "approved": ["submit", "approve"],
             "rejected": ["submit", "reject"]}[state]
    for step in steps:
        status, answer = await gateway.call("POST", f"{base}/{made['id']}/{step}",
                                            {"note": "not this one"} if step == "reject" else None)
        assert status == 200, answer
    return made["id"]


async def contact(db, community_id, phone, name=None, fields=None, preference="unknown", dnd=None,
                  marketing="unknown", tags=()) -> None:
    await db.execute("INSERT INTO contacts (community_id, phone, name, fields, preference, dnd, marketing_preference,"
                     " tags) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8)", community_id, phone, name,
                     json.dumps(fields or {}), preference, dnd, marketing, list(tags))


async def post(gateway, path, body, key=None):
    """POST as the platform does, with an Idempotency-Key when given; (status, body, replayed)."""
    headers = {"Authorization": f"Bearer {TOKEN}", **({"Idempotency-Key": key} if key else {})}
    async with gateway.client.post(path, json=body, headers=headers) as response:
        return response.status, await response.json(), response.headers.get("Idempotent-Replayed") == "true"


async def test_a_triggered_send_renders_the_contact_and_data_and_goes_out_identified(gateway, db):
    community = (await gateway.community())["id"]
    tid = await template(gateway, community)
    await contact(db, community, PAT, name="Pat", fields={"reward_amount": "$10", "first_name": "Patricia"})
    status, sent, _ = await post(gateway, f"/v1/communities/{community}/sends",
                                 {"template_id": tid, "to": "(415) 555-2671", "data": {"reward_amount": "$20"}})
    assert status == 201, sent
    assert (sent["status"], sent["outcome"], sent["category"], sent["to"], sent["from"]) == (
        "queued", "processing", "transactional", PAT, PROXY)
    assert sent["body"] == "Hi Pat, your $20 reward is approved."  # data over the contact's fields
    [raw] = await gateway.delivered_to(PAT)
    assert gateway.carrier.raw_bodies_to(PAT) == [IDENTIFIED_BEFORE + sent["body"] + IDENTIFIED_AFTER]
    row = await db.fetchrow("SELECT kind, priority, template_id, category FROM messages WHERE id = $1", sent["id"])
    assert dict(row) == {"kind": "triggered", "priority": "relay", "template_id": tid, "category": "transactional"}
    message = await gateway.message(sent["id"])
    assert message["kind"] == "triggered"


@pytest.mark.parametrize("state", ["draft", "submitted", "rejected"])
async def test_a_template_not_approved_is_refused_on_sends_and_broadcasts(gateway, db, state):
    community = (await gateway.community())["id"]
    tid = await template(gateway, community, body="Your {reward_amount} reward is approved.", state=state)
    status, body, _ = await post(gateway, f"/v1/communities/{community}/sends", {"template_id": tid, "to": PAT,
                                                                                "data": {"reward_amount": "$1"}})
    assert (status, body["error"]["code"]) == (409, "template_not_approved"), body
    status, body, _ = await post(gateway, f"/v1/communities/{community}/broadcasts",
                                 {"template_id": tid, "audience": {"phones": [PAT]}})
    assert (status, body["error"]["code"]) == (409, "template_not_approved"), body
    # Approved, the same requests go.
    await db.execute("UPDATE templates SET state = 'approved' WHERE id = $1", tid)
    status, body, _ = await post(gateway, f"/v1/communities/{community}/sends", {"template_id": tid, "to": PAT,
                                                                                "data": {"reward_amount": "$1"}})
    assert status == 201, body
    assert await db.fetchval("SELECT count(*) FROM messages WHERE template_id = $1", tid) == 1


async def test_a_retry_with_the_same_key_sends_once(gateway, db):
    community = (await gateway.community())["id"]
    tid = await template(gateway, community, body="Welcome {name}!")
    await contact(db, community, PAT, name="Pat")
    request = {"template_id": tid, "to": PAT}
    first = await post(gateway, f"/v1/communities/{community}/sends", request, key="enrolled-42")
    second = await post(gateway, f"/v1/communities/{community}/sends", request, key="enrolled-42")
    assert first[0] == second[0] == 201 and first[1] == second[1] and (first[2], second[2]) == (False, True)
    await gateway.delivered_to(PAT)
    assert await db.fetchval("SELECT count(*) FROM messages WHERE template_id = $1", tid) == 1
    third = await post(gateway, f"/v1/communities/{community}/sends", request, key="enrolled-43")
    assert third[1]["id"] != first[1]["id"]  # a new key is a new send
    await gateway.delivered_to(PAT, 2)
    assert len(gateway.carrier.bodies_to(PAT)) == 2


async def test_the_audience_rules_of_one_send(gateway, db):
    community = (await gateway.community())["id"]
    marketing = await template(gateway, community, body="Spring bonus, {name}!", category="marketing")
    transactional = await template(gateway, community, body="Reward ready.")
    await contact(db, community, PAT, name="Pat")  # preference unknown
    await contact(db, community, SAM, name="Sam", preference="opted_out")
    dnd_phone = "+14155552680"
    await contact(db, community, dnd_phone, name="Dee", preference="opted_in", dnd="temporary")
    path = f"/v1/communities/{community}/sends"
    cases = [(marketing, PAT, 409, "recipient_not_opted_in"), (marketing, SAM, 409, "recipient_opted_out"),
             (transactional, SAM, 409, "recipient_opted_out"), (transactional, LANDLINE, 422, "landline"),
             (marketing, "+14155552699", 409, "recipient_not_opted_in")]  # no contact: not opted in
    for tid, phone, status, code in cases:
        got, body, _ = await post(gateway, path, {"template_id": tid, "to": phone})
        assert (got, body["error"]["code"]) == (status, code), (phone, body)
    assert await db.fetchval("SELECT count(*) FROM messages") == 0  # refused: nothing stored
    # A transactional text to a contact who never opted in goes; DND stores it blocked.
    got, body, _ = await post(gateway, path, {"template_id": transactional, "to": PAT})
    assert (got, body["status"]) == (201, "queued")
    got, body, _ = await post(gateway, path, {"template_id": marketing, "to": dnd_phone})
    assert (got, body["status"], body["status_reason"], body["outcome"]) == (201, "blocked", "dnd", "blocked")


async def test_missing_fields_are_named(gateway, db):
    community = (await gateway.community())["id"]
    tid = await template(gateway, community, body="{first_name}, your {reward_amount} via {referral_link}")
    await contact(db, community, PAT, name="Pat", fields={"reward_amount": "$5"})
    status, body, _ = await post(gateway, f"/v1/communities/{community}/sends", {"template_id": tid, "to": PAT})
    assert (status, body["error"]["code"], body["error"]["fields"]) == (422, "missing_fields",
                                                                          ["first_name", "referral_link"])
    assert "first_name, referral_link" in body["error"]["message"]


async def test_the_sending_number_follows_the_category_and_stays_with_the_contact(gateway, db):
    community = (await gateway.community(numbers=[PROXY, PROXY_2, PROXY_3]))["id"]
    await db.execute("UPDATE community_numbers SET category = 'marketing' WHERE phone = $1", PROXY_3)
    status, body = await gateway.call("PATCH", f"/v1/communities/{community}/numbers/{PROXY}",
                                      {"member": {"phone": SAM, "name": "Sam"}})  # dedicated to a member
    assert status == 200, body
    transactional = await template(gateway, community, body="Reward ready.")
    marketing = await template(gateway, community, body="Sale!", category="marketing")
    phones = [f"+1415555{n:04d}" for n in range(2700, 2720)]
    for phone in phones:
        await contact(db, community, phone, marketing="opted_in", preference="opted_in")
    senders = {}
    for phone in phones:
        for tid in (transactional, transactional, marketing):
            status, body, _ = await post(gateway, f"/v1/communities/{community}/sends", {"template_id": tid,
                                                                                        "to": phone})
            assert status == 201, body
            senders.setdefault((phone, tid), set()).add(body["from"])
    assert {frozenset(s) for (p, tid), s in senders.items() if tid == marketing} == {frozenset({PROXY_3})}
    transactional_senders = [s for (p, tid), s in senders.items() if tid == transactional]
    assert all(len(s) == 1 for s in transactional_senders)  # the same number each time for a contact
    assert set().union(*transactional_senders) == {PROXY_2}  # never the dedicated one, nor the marketing one


def test_the_sender_choice_is_stable_and_spreads():
    pool = rules.sender_pool([rules.SendingNumber(p, None) for p in ("+2", "+1", "+3")], TemplateCategory.MARKETING)
    assert pool == ["+1", "+2", "+3"]
    chosen = [rules.choose_sender(pool, f"+1415555{n:04d}") for n in range(300)]
    assert chosen == [rules.choose_sender(pool, f"+1415555{n:04d}") for n in range(300)]
    assert {chosen.count(p) for p in pool} and min(chosen.count(p) for p in pool) > 60
    assert rules.choose_sender([], "+1") is None
    # A fourth number takes about a quarter of the phones; the others keep theirs.
    grown = [rules.choose_sender([*pool, "+4"], f"+1415555{n:04d}") for n in range(300)]
    moved = [(a, b) for a, b in zip(chosen, grown) if a != b]
    assert all(b == "+4" for _, b in moved) and 40 < len(moved) < 110


async def test_the_outcome_log_of_a_template(gateway, db):
    community = (await gateway.community())["id"]
    tid = await template(gateway, community, body="Hello.")
    await contact(db, community, SAM, dnd="permanent")
    for phone in (PAT, SAM):
        status, body, _ = await post(gateway, f"/v1/communities/{community}/sends", {"template_id": tid,
                                                                                    "to": phone})
        assert status == 201
    await gateway.delivered_to(PAT)
    await wait_for(lambda: _accepted(db, tid), what="recorded as accepted")
    status, log = await gateway.call("GET", f"/v1/communities/{community}/templates/{tid}/outcomes")
    assert status == 200, log
    assert log["all"] == {"messages": 2, "outcomes": {"blocked": 1, "completed": 1},
                          "statuses": {"accepted": 1, "blocked": 1}}
    assert log["triggered"]["outcomes"] == {"blocked": 1, "completed": 1} and log["broadcasts"] == []
    _, text = await gateway.call("GET", "/metrics")
    assert 'gateway_template_sends_total{category="transactional",kind="triggered",outcome="queued"} 1.0' in text
    status, body = await gateway.call("GET", f"/v1/communities/{community}/templates/999/outcomes")
    assert (status, body["error"]["code"]) == (404, "template_not_found")


async def _accepted(db, tid):
    return await db.fetchval("SELECT count(*) FROM messages WHERE template_id = $1 AND status = 'accepted'", tid)


BAD_SENDS = [
    ({}, 422, "missing_field"),
    ({"to": PAT}, 422, "missing_field"),
    ({"template_id": "1", "to": PAT}, 422, "invalid_field"),
    ({"template_id": -1, "to": PAT}, 422, "invalid_field"),
    ({"template_id": 1}, 422, "missing_field"),
    ({"template_id": 1, "to": 4155552671}, 422, "invalid_field"),
    ({"template_id": 1, "to": "not a phone"}, 422, "invalid_number"),
    ({"template_id": 1, "to": "+44 7400 123456"}, 422, "unsupported_country"),
    ({"template_id": 1, "to": LANDLINE}, 422, "landline"),
    ({"template_id": 1, "to": PROXY}, 422, "invalid_number"),  # our own number
    ({"template_id": 1, "to": PAT, "data": []}, 422, "invalid_field"),
    ({"template_id": 1, "to": PAT, "data": {"Name": "x"}}, 422, "invalid_field"),
    ({"template_id": 1, "to": PAT, "data": {"name": 5}}, 422, "invalid_field"),
    ({"template_id": 1, "to": PAT, "data": {"name": "x" * 501}}, 422, "invalid_field"),
    ({"template_id": 1, "to": PAT, "extra": 1}, 400, "unknown_field"),
    ({"template_id": 999, "to": PAT}, 404, "template_not_found"),
]


@pytest.mark.parametrize("body, status, code", BAD_SENDS)
async def test_bad_sends_are_refused_with_an_error_body(gateway, db, body, status, code):
    community = (await gateway.community())["id"]
    await template(gateway, community, body="Hi.")
    got, answer, _ = await post(gateway, f"/v1/communities/{community}/sends", body)
    assert (got, answer["error"]["code"]) == (status, code), answer
    assert await db.fetchval("SELECT count(*) FROM messages") == 0


async def test_another_communitys_template_is_not_found(gateway, db):
    mine = (await gateway.community())["id"]
    theirs = (await gateway.community(numbers=[PROXY_2], name="Other"))["id"]
    tid = await template(gateway, theirs, body="Hi.")
    got, answer, _ = await post(gateway, f"/v1/communities/{mine}/sends", {"template_id": tid, "to": PAT})
    assert (got, answer["error"]["code"]) == (404, "template_not_found")
    got, answer, _ = await post(gateway, "/v1/communities/999/sends", {"template_id": tid, "to": PAT})
    assert (got, answer["error"]["code"]) == (404, "community_not_found")


async def test_separate_marketing_numbers_keep_the_two_preferences_apart(gateway, db):
    community = (await gateway.community(numbers=[PROXY, PROXY_2]))["id"]
    await db.execute("UPDATE community_numbers SET category = 'marketing' WHERE phone = $1", PROXY_2)
    marketing = await template(gateway, community, body="Sale!", category="marketing")
    transactional = await template(gateway, community, body="Reward ready.")
    await contact(db, community, PAT, preference="opted_in", marketing="opted_out")  # STOP to the marketing number
    path = f"/v1/communities/{community}/sends"
    got, body, _ = await post(gateway, path, {"template_id": marketing, "to": PAT})
    assert (got, body["error"]["code"]) == (409, "recipient_opted_out")
    got, body, _ = await post(gateway, path, {"template_id": transactional, "to": PAT})
    assert (got, body["status"], body["from"]) == (201, "queued", PROXY)


async def test_test_mode_stores_it_blocked(gateway, db):
    community = (await gateway.community(mode="test"))["id"]
    tid = await template(gateway, community, body="Hi.")
    got, body, _ = await post(gateway, f"/v1/communities/{community}/sends", {"template_id": tid, "to": PAT})
    assert (got, body["status"], body["status_reason"], body["outcome"]) == (201, "blocked", "not_on_allow_list",
                                                                             "blocked")
    assert gateway.carrier.sent == []

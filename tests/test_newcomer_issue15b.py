"""A newcomer tried the contacts and templates API (contacts, CSV import, templates, preview, sends) and left small
faults; each test here is one of them."""

import pytest

from tests.helpers import ALEX, PAT, PROXY, PROXY_2, SAM
from tests.test_contacts_data import import_csv, one
from tests.test_sends import post, template

OWN = "one of the gateway's own numbers"


async def test_an_import_refuses_the_gateways_own_numbers_as_contacts(gateway, db):
    """A community's number (this one's or another's) was stored as a contact: it is no person, and a send to it
    would come back in as a text."""
    cid = (await gateway.community())["id"]
    await gateway.community(numbers=(PROXY_2,), name="Other")
    answer = await import_csv(gateway, cid, f"phone,name\n{PROXY},Front desk\n{PAT},Pat\n{PROXY_2},Other desk\n")
    assert {k: answer[k] for k in ("rows", "created", "rejected")} == {"rows": 3, "created": 1, "rejected": 2}, answer
    assert [r["row"] for r in answer["rejections"]] == [2, 4] and all(
        OWN in r["reason"] for r in answer["rejections"]), answer
    assert [r["phone"] for r in await db.fetch("SELECT phone FROM contacts")] == [PAT]


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
@pytest.mark.parametrize("number", [PROXY, PROXY_2])
async def test_put_and_patch_refuse_the_gateways_own_numbers(gateway, db, method, number):
    cid = (await gateway.community())["id"]
    await gateway.community(numbers=(PROXY_2,), name="Other")
    status, body = await gateway.call(method, one(cid, number), {"name": "Front desk"})
    assert (status, body["error"]["code"]) == (422, "invalid_number"), body
    assert body["error"]["message"].startswith(f"phone: {OWN}"), body
    assert await db.fetchval("SELECT count(*) FROM contacts") == 0


async def test_an_import_refuses_a_row_with_text_beyond_the_headers_columns(gateway, db):
    """`Pat,Lee` unquoted in a name column made a third cell the header names no column for: it was dropped
    silently, and the contact stored as "Pat". A row whose cells are out of place is refused; a trailing comma
    (empty cells) carries nothing and is read past."""
    cid = (await gateway.community())["id"]
    text = f'phone,name\n{PAT},Pat,Lee\n{SAM},Sam,,\n{ALEX},"Alex, Jr"\n+14155552674,Kim,x,,y\n'
    answer = await import_csv(gateway, cid, text)
    assert {k: answer[k] for k in ("rows", "created", "rejected")} == {"rows": 4, "created": 2, "rejected": 2}, answer
    reasons = {r["row"]: r["reason"] for r in answer["rejections"]}
    assert reasons[2].startswith("1 cell beyond the header's 2 columns (column 3)"), reasons
    assert reasons[5].startswith("2 cells beyond the header's 2 columns (columns 3, 5)"), reasons
    names = await db.fetch("SELECT phone, name FROM contacts ORDER BY phone")
    assert [tuple(r) for r in names] == [(ALEX, "Alex, Jr"), (SAM, "Sam")]


async def test_a_preview_warns_of_a_placeholder_that_is_never_filled(gateway):
    """{First_Name} is text by the merge-field rules (lower-case names only): the preview showed it as it is, with
    no warning, and the send went out with "{First_Name}" in it."""
    cid = (await gateway.community())["id"]
    body = "Hi {First_Name}, {first_name}! Your {rewardAmount} is here."
    status, shown = await gateway.call("POST", f"/v1/communities/{cid}/templates/preview",
                                       {"body": body, "data": {"first_name": "Ana"}})
    assert status == 200, shown
    assert (shown["text"], shown["fields"], shown["missing"]) == (
        "Hi {First_Name}, Ana! Your {rewardAmount} is here.", ["first_name"], [])
    assert shown["warnings"] == [
        "{First_Name} is not a merge field (a lower-case letter, then lower-case letters, digits or _, in braces): it "
        "is sent as written, never filled; write {first_name}",
        "{rewardAmount} is not a merge field (a lower-case letter, then lower-case letters, digits or _, in braces): "
        "it is sent as written, never filled; write {reward_amount}"]
    # Braces are text by the rules, so the template is taken as written (and its saved preview warns the same).
    status, made = await gateway.call("POST", f"/v1/communities/{cid}/templates",
                                      {"name": "Hi", "category": "transactional", "body": body})
    assert (status, made["fields"]) == (201, ["first_name"]), made
    status, saved = await gateway.call("POST", f"/v1/communities/{cid}/templates/{made['id']}/preview",
                                       {"data": {"first_name": "Ana"}})
    assert saved["warnings"] == shown["warnings"], saved


@pytest.mark.parametrize("path", ["sends", "broadcasts"])
async def test_a_bad_key_in_data_is_named_with_the_rule(gateway, db, path):
    """The answer was ': expected a string matching regex '^[a-z][a-z0-9_]{0,63}$' - at `key` in `$.data`'."""
    cid = (await gateway.community())["id"]
    tid = await template(gateway, cid, body="Hi {first_name}.")
    body = {"template_id": tid, "data": {"first_name": "Ana", "First Name": "Ana"},
            **({"to": PAT} if path == "sends" else {"audience": {"phones": [PAT]}})}
    status, answer, _ = await post(gateway, f"/v1/communities/{cid}/{path}", body)
    assert (status, answer["error"]["code"]) == (422, "invalid_field"), answer
    assert answer["error"]["message"] == ("data.First Name: 'First Name' is not a merge field name (a lower-case "
                                          "letter, then lower-case letters, digits or _; at most 64)"), answer
    assert await db.fetchval("SELECT count(*) FROM messages") == 0


@pytest.mark.parametrize("path", ["sends", "broadcasts"])
@pytest.mark.parametrize("value, message", [
    (5, "expected a string, got an integer"), (None, "must not be null"), (["Ana"], "expected a string, got a list"),
    ("x" * 501, "expected a string of length <= 500")])
async def test_a_wrong_value_in_data_is_named_by_its_key(gateway, db, path, value, message):
    """The answer was 'data[...]: expected a string, got an integer': which of the values was wrong went unsaid."""
    cid = (await gateway.community())["id"]
    tid = await template(gateway, cid, body="Hi {first_name}.")
    body = {"template_id": tid, "data": {"reward": "10", "first_name": value, "last": "B"},
            **({"to": PAT} if path == "sends" else {"audience": {"phones": [PAT]}})}
    status, answer, _ = await post(gateway, f"/v1/communities/{cid}/{path}", body)
    assert (status, answer["error"]["code"]) == (422, "invalid_field"), answer
    assert answer["error"]["message"] == f"data.first_name: {message}", answer
    assert await db.fetchval("SELECT count(*) FROM messages") == 0


@pytest.mark.parametrize("field", ["category", "name", "body"])
async def test_a_template_patch_with_null_is_refused_naming_the_field(gateway, db, field):
    """"category": null was taken as "unchanged", silently; a community's PATCH refuses null where a setting
    cannot be cleared, and so does a template's now."""
    cid = (await gateway.community())["id"]
    tid = await template(gateway, cid, body="Hi {first_name}.")
    status, answer = await gateway.call("PATCH", f"/v1/communities/{cid}/templates/{tid}",
                                        {field: None, "name": "Renamed" if field != "name" else None})
    assert (status, answer["error"]["code"], answer["error"]["message"]) == (
        422, "invalid_field", f"{field}: must not be null"), answer
    row = await db.fetchrow("SELECT name, category, state FROM templates WHERE id = $1", tid)
    assert (row["name"] != "Renamed", row["category"], row["state"]) == (True, "transactional", "approved")
    status, changed = await gateway.call("PATCH", f"/v1/communities/{cid}/templates/{tid}", {"category": "marketing"})
    assert (status, changed["category"], changed["state"]) == (200, "marketing", "draft"), changed

"""A newcomer tried issue 15 (contacts with data and CSV, templates, triggered sends, broadcasts, quiet hours,
marketing numbers) as a user would and broke it; each test here is one thing that broke."""

import pytest

from gateway.relay import contact_data
from tests.helpers import PAT, PROXY, PROXY_2, SAM
from gateway.vocabulary import MessageKind
from tests.helpers import wait_for
from tests.test_broadcasts import _yesterday
from tests.test_marketing_numbers import categorize, replied
from tests.test_quiet_hours import FAST, LA, NY, SetClock, marketing, screen, settled
from tests.test_contacts_data import AUTH, export, import_csv, put

FORMULAS = ["=cmd|' /C calc'!A0", "+1-2", "-3", "@SUM(1+1)", "\tx", "'=already", "'plain", "plain", ""]


@pytest.mark.parametrize("value", FORMULAS)
def test_a_cell_is_escaped_for_spreadsheets_and_read_back_as_it_was(value):
    escaped = contact_data.spreadsheet_safe(value)
    assert escaped[:1] not in ("=", "+", "-", "@", "\t", "\r"), escaped
    assert contact_data.spreadsheet_value(escaped) == value


async def test_the_export_never_hands_a_spreadsheet_a_formula_and_still_imports_back(gateway, db):
    """A contact's name, fields and tags come from anyone who can fill a sign-up form: exported raw, `=cmd|...`
    runs as a formula in the spreadsheet the community opens the export in (CSV injection, OWASP)."""
    cid = (await gateway.community())["id"]
    await put(gateway, cid, PAT, {"name": "=cmd|' /C calc'!A0", "fields": {"first_name": "@SUM(1+1)", "note": "'=x"},
                                  "tags": ["-3", "vip"]})
    await put(gateway, cid, SAM, {"name": "+Sam", "fields": {"first_name": "Sam"}})
    rows = await export(gateway, cid)
    cells = [cell for row in rows for key, cell in row.items() if key != "phone"]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")], rows
    assert {row["phone"] for row in rows} == {PAT, SAM}  # the phones stay E.164: no formula in a number

    before = await db.fetch("SELECT phone, name, fields, tags FROM contacts WHERE community_id = $1 ORDER BY phone",
                            cid)
    async with gateway.client.get(f"/v1/communities/{cid}/contacts", headers={**AUTH, "Accept": "text/csv"}) as r:
        text = await r.text()
    other = (await gateway.community(numbers=("+14155550109",), name="Other"))["id"]
    answer = await import_csv(gateway, other, text, chunk=50)
    assert (answer["created"], answer["rejected"]) == (2, 0), answer
    after = await db.fetch("SELECT phone, name, fields, tags FROM contacts WHERE community_id = $1 ORDER BY phone",
                           other)
    assert [tuple(r) for r in after] == [tuple(r) for r in before]
    answer = await import_csv(gateway, cid, text, chunk=50)
    assert (answer["unchanged"], answer["rejected"]) == (2, 0), answer


async def test_the_platform_records_a_marketing_opt_in_where_marketing_numbers_are_kept_apart(gateway, db):
    """With a marketing number, marketing sends answer to marketing_preference; the API could not set it, so every
    contact the platform opted in was skipped not_opted_in by every marketing broadcast, with no way to fix it."""
    cid = (await gateway.community(numbers=(PROXY, PROXY_2)))["id"]
    await categorize(gateway, cid, PROXY_2, "marketing")
    made = await put(gateway, cid, SAM, {"name": "Sam", "preference": "opted_in", "marketing_preference": "opted_in"})
    assert (made["preference"], made["marketing_preference"]) == ("opted_in", "opted_in"), made
    status, patched = await gateway.call("PATCH", f"/v1/communities/{cid}/contacts/%2B{SAM[1:]}",
                                         {"marketing_preference": "opted_out"})
    assert (status, patched["marketing_preference"], patched["preference"]) == (200, "opted_out", "opted_in"), patched
    await put(gateway, cid, SAM, {"marketing_preference": "opted_in"})  # the platform's own opt-out: it may undo it
    events = await db.fetch("SELECT preference, category FROM preference_events WHERE phone = $1 ORDER BY id", SAM)
    assert [tuple(e) for e in events] == [("opted_in", None), ("opted_in", "marketing"), ("opted_out", "marketing"),
                                         ("opted_in", "marketing")]

    await gateway.sms(PAT, PROXY_2, "STOP")  # their own marketing STOP: only their START undoes it
    await replied(gateway, PAT, "no more marketing texts")
    status, body = await gateway.call("PATCH", f"/v1/communities/{cid}/contacts/%2B{PAT[1:]}",
                                      {"name": "Pat", "marketing_preference": "opted_in"})
    assert (status, body["error"]["code"]) == (409, "contact_opted_out"), body
    row = await db.fetchrow("SELECT name, marketing_preference FROM contacts WHERE phone = $1", PAT)
    assert tuple(row) == (None, "opted_out")
    await put(gateway, cid, PAT, {"name": "Pat", "preference": "opted_in"})  # the SMS preference is another one


async def test_an_import_and_an_export_carry_the_marketing_preference(gateway, db):
    """The export left the marketing preference out and an import took a marketing_preference column for a merge
    field: a list of marketing opt-ins could not be imported, nor an export carried to another community."""
    cid = (await gateway.community(numbers=(PROXY, PROXY_2)))["id"]
    await categorize(gateway, cid, PROXY_2, "marketing")
    answer = await import_csv(gateway, cid, f"phone,marketing_preference\n{PAT},opted_in\n{SAM},maybe\n")
    assert (answer["created"], answer["rejected"]) == (1, 1), answer
    row = await db.fetchrow("SELECT marketing_preference, fields::text FROM contacts WHERE phone = $1", PAT)
    assert (row["marketing_preference"], row["fields"]) == ("opted_in", "{}"), row
    rows = await export(gateway, cid)
    assert rows[0]["marketing_preference"] == "opted_in" and "field.marketing_preference" not in rows[0], rows


async def test_a_broadcast_text_released_by_the_daily_reset_at_night_waits_for_the_morning(start_gateway, db,
                                                                                           redis_client):
    """Held at the daily limit at noon Pacific; the community's day ends (midnight Eastern: 9 pm Pacific) and the
    reset releases it: it must wait for 8 am Pacific, not go at 9 pm."""
    clock = SetClock("2027-01-12T20:00")  # noon Pacific
    gateway = await start_gateway("sandbox", clock=clock, **FAST)
    cid = (await gateway.community(daily_limit_levels=[1], daily_limit_ceiling=1, timezone="America/New_York"))["id"]
    first = await marketing(gateway, cid, NY, category="transactional")
    await settled(gateway, first, "sent", "delivered")
    held = await marketing(gateway, cid, LA, kind=MessageKind.BROADCAST)
    await wait_for(lambda: _reason(gateway, held, "daily_limit"), what="held at the daily limit")

    clock.set("2027-01-13T05:30")  # 12:30 am Eastern, 9:30 pm Pacific: Los Angeles is outside its window
    await _yesterday(db, redis_client)
    await wait_for(lambda: _reason(gateway, held, "quiet_hours"), what="held for quiet hours after the reset")
    found = await gateway.message(held)
    assert (found["status"], found["held_until"]) == ("held", "2027-01-13T16:00:00Z"), found
    assert not [m for m in await screen(gateway, LA)], "nothing reached Los Angeles at night"

    clock.set("2027-01-13T16:00")  # 8 am Pacific
    await settled(gateway, held, "sent", "delivered")


async def _reason(gateway, message_id, reason):
    return (await gateway.message(message_id))["status_reason"] == reason or None

"""Contacts with data (issue 15): PUT, PATCH and GET through the API as the platform calls it, the opt-in rule
(the API never opts back in a phone that texted STOP), and the CSV export and import as streams."""

import csv
import io

import pytest

from tests.helpers import ALEX, PAT, PROXY, SAM, TOKEN

CONTACT = "/v1/communities/{}/contacts/%2B{}"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def one(cid: int, phone: str) -> str:
    return CONTACT.format(cid, phone[1:])


async def put(gateway, cid, phone, body, status=200) -> dict:
    got, answer = await gateway.call("PUT", one(cid, phone), body)
    assert got == status, answer
    return answer


async def test_a_contact_is_created_replaced_patched_and_listed(gateway):
    cid = (await gateway.community())["id"]
    created = await put(gateway, cid, PAT, {"name": "Pat Lee", "fields": {"first_name": "Pat", "reward_amount": "$20"},
                                            "tags": ["vip", "spring", "vip"], "preference": "opted_in"})
    assert (created["phone"], created["name"], created["tags"], created["preference"], created["preference_source"]) \
        == (PAT, "Pat Lee", ["vip", "spring"], "opted_in", "api")
    assert created["fields"] == {"first_name": "Pat", "reward_amount": "$20"} and created["created_at"]

    status, patched = await gateway.call("PATCH", one(cid, PAT), {"fields": {"reward_amount": None, "city": "Oslo"}})
    assert status == 200 and patched["fields"] == {"first_name": "Pat", "city": "Oslo"}, patched
    assert (patched["name"], patched["tags"], patched["preference"]) == ("Pat Lee", ["vip", "spring"], "opted_in")

    replaced = await put(gateway, cid, PAT, {"fields": {"first_name": "Patricia"}})  # PUT: the whole contact
    assert (replaced["name"], replaced["fields"], replaced["tags"], replaced["preference"]) == (
        None, {"first_name": "Patricia"}, [], "opted_in")  # a preference left out stays
    await put(gateway, cid, SAM, {"name": "Sam", "tags": ["vip"]})
    await put(gateway, cid, ALEX, {"name": "Alex", "preference": "opted_out"})

    status, body = await gateway.call("GET", f"/v1/communities/{cid}/contacts?tag=vip")
    assert status == 200 and [c["phone"] for c in body["contacts"]] == [SAM], body
    status, body = await gateway.call("GET", f"/v1/communities/{cid}/contacts?preference=opted_out")
    assert [c["name"] for c in body["contacts"]] == ["Alex"]
    status, body = await gateway.call("GET", f"/v1/communities/{cid}/contacts?limit=2")
    assert [c["phone"] for c in body["contacts"]] == sorted([PAT, ALEX, SAM])[:2]
    status, found = await gateway.call("GET", one(cid, PAT))
    assert status == 200 and found == replaced
    status, body = await gateway.call("GET", one(cid, "+14155559999"))
    assert (status, body["error"]["code"]) == (404, "contact_not_found")


async def test_the_api_never_opts_in_a_phone_that_texted_stop(gateway, db):
    cid = (await gateway.community())["id"]
    await put(gateway, cid, PAT, {"name": "Pat", "preference": "opted_in"})
    await gateway.sms(PAT, PROXY, "STOP")
    status, body = await gateway.call("PUT", one(cid, PAT), {"name": "Pat again", "preference": "opted_in"})
    assert (status, body["error"]["code"]) == (409, "contact_opted_out"), body
    status, body = await gateway.call("PATCH", one(cid, PAT), {"preference": "opted_in"})
    assert (status, body["error"]["code"]) == (409, "contact_opted_out")
    row = await db.fetchrow("SELECT name, preference, preference_keyword FROM contacts WHERE phone = $1", PAT)
    assert tuple(row) == ("Pat", "opted_out", "STOP")  # nothing of the refused change stored
    # Their data can still change, and their own START opts them back in.
    assert (await gateway.call("PATCH", one(cid, PAT), {"name": "Pat L"}))[0] == 200
    await gateway.sms(PAT, PROXY, "START")
    assert await db.fetchval("SELECT preference FROM contacts WHERE phone = $1", PAT) == "opted_in"

    # The platform's own opt-out it may undo (its consent capture); the opt-out rate counts only keywords.
    await put(gateway, cid, SAM, {"preference": "opted_out"})
    assert (await put(gateway, cid, SAM, {"preference": "opted_in"}))["preference"] == "opted_in"
    events = await db.fetch("SELECT preference, keyword, source_number FROM preference_events WHERE phone = $1 "
                            "ORDER BY id", SAM)
    assert [tuple(e) for e in events] == [("opted_out", None, "api"), ("opted_in", None, "api")]


async def test_stop_and_start_keep_working_on_contacts_the_api_made(gateway, db):
    cid = (await gateway.community())["id"]
    await put(gateway, cid, PAT, {"name": "Pat", "fields": {"first_name": "Pat"}})
    await gateway.sms(PAT, PROXY, "STOP")
    status, found = await gateway.call("GET", one(cid, PAT))
    assert (found["preference"], found["preference_keyword"], found["fields"]) == ("opted_out", "STOP",
                                                                                  {"first_name": "Pat"})
    await gateway.sms(PAT, PROXY, "JOIN")
    status, found = await gateway.call("GET", one(cid, PAT))
    assert (found["preference"], found["preference_keyword"], found["name"]) == ("opted_in", "JOIN", "Pat")


@pytest.mark.parametrize("method, body, status, code", [
    ("PUT", {"fields": {"First": "x"}}, 422, "invalid_field"),
    ("PUT", {"fields": {"1st": "x"}}, 422, "invalid_field"),
    ("PUT", {"fields": {"a" * 65: "x"}}, 422, "invalid_field"),
    ("PUT", {"fields": {"first_name": 3}}, 422, "invalid_field"),
    ("PUT", {"fields": {"first_name": None}}, 422, "invalid_field"),
    ("PUT", {"fields": {"first_name": "a\nb"}}, 422, "invalid_field"),
    ("PUT", {"fields": {"first_name": "x" * 501}}, 422, "invalid_field"),
    ("PUT", {"fields": {f"f{i}": "x" for i in range(51)}}, 422, "invalid_field"),
    ("PUT", {"fields": ["first_name"]}, 422, "invalid_field"),
    ("PUT", {"tags": ["a;b"]}, 422, "invalid_field"),
    ("PUT", {"tags": [""]}, 422, "invalid_field"),
    ("PUT", {"tags": ["x" * 41]}, 422, "invalid_field"),
    ("PUT", {"tags": [f"t{i}" for i in range(51)]}, 422, "invalid_field"),
    ("PUT", {"tags": "vip"}, 422, "invalid_field"),
    ("PUT", {"name": "x" * 101}, 422, "invalid_field"),
    ("PUT", {"name": "a\tb"}, 422, "invalid_field"),
    ("PUT", {"preference": "unknown"}, 422, "invalid_field"),
    ("PUT", {"preference": "yes"}, 422, "invalid_field"),
    ("PUT", {"nickname": "P"}, 400, "unknown_field"),
    ("PATCH", {"fields": {"Bad": None}}, 422, "invalid_field"),
    ("PATCH", {"tags": None}, 422, "invalid_field"),
    ("PATCH", {"preference": None}, 422, "invalid_field"),
])
async def test_bad_contact_data_is_refused_and_nothing_stored(gateway, db, method, body, status, code):
    cid = (await gateway.community())["id"]
    got, answer = await gateway.call(method, one(cid, PAT), body)
    assert (got, answer["error"]["code"]) == (status, code), answer
    assert await db.fetchval("SELECT count(*) FROM contacts") == 0


@pytest.mark.parametrize("phone, status, code", [
    ("%2B1415555", 422, "invalid_number"), ("nonsense", 422, "invalid_number"),
    ("%2B442071838750", 422, "unsupported_country"), ("%2B14155550042", 422, "landline"),
])
async def test_the_phone_is_judged_as_the_api_judges_phones(gateway, phone, status, code):
    cid = (await gateway.community())["id"]
    got, answer = await gateway.call("PUT", f"/v1/communities/{cid}/contacts/{phone}", {"name": "X"})
    assert (got, answer["error"]["code"]) == (status, code), answer


async def export(gateway, cid, query="") -> list[dict]:
    async with gateway.client.get(f"/v1/communities/{cid}/contacts{query}",
                                  headers={**AUTH, "Accept": "text/csv"}) as response:
        assert response.status == 200 and response.content_type == "text/csv", await response.text()
        return list(csv.DictReader(io.StringIO(await response.text())))


async def import_csv(gateway, cid, text: str | bytes, status=200, chunk=7, content_type="text/csv") -> dict:
    raw = text.encode() if isinstance(text, str) else text

    async def chunks():  # a chunked body, no Content-Length: read as it comes
        for start in range(0, len(raw), chunk):
            yield raw[start:start + chunk]
    async with gateway.client.post(f"/v1/communities/{cid}/contacts/import", data=chunks(),
                                   headers={**AUTH, "Content-Type": content_type}) as response:
        answer = await response.json()
        assert response.status == status, answer
        return answer


async def test_an_import_stores_good_rows_and_lists_the_bad_ones(gateway, db):
    cid = (await gateway.community())["id"]
    await put(gateway, cid, ALEX, {"name": "Alex", "fields": {"first_name": "Alex", "city": "Oslo"}})
    await gateway.sms(SAM, PROXY, "STOP")
    text = ("Phone,name,tags,preference,first_name,field.reward_amount\r\n"
            f"{PAT},Pat,vip;spring,opted_in,Pat,$20\r\n"
            "not a phone,X,,,,\r\n"
            f"{ALEX},,,,,\"$30, paid\"\r\n"                   # no name now; first_name removed; city kept
            "\r\n"                                           # a blank line: skipped, not counted
            f"+442071838750,Gb,,,,\r\n"                      # not an enabled country
            f"{SAM},Sam,,opted_in,,\r\n"                     # texted STOP: not opted in by an import
            f"+14155552674,Kim,a;b,maybe,,\r\n"
            f"+14155552675,\"Lee \"\"the\"\" Great\",,opted_out,\"multi\nline\",\r\n").encode() \
        + b"+14155552676,Ann,,,\xff,\r\n"  # not UTF-8
    answer = await import_csv(gateway, cid, text)
    assert {k: answer[k] for k in ("rows", "created", "updated", "unchanged", "rejected")} == {
        "rows": 8, "created": 1, "updated": 1, "unchanged": 0, "rejected": 6}, answer
    reasons = {r["row"]: r["reason"] for r in answer["rejections"]}
    assert sorted(reasons) == [3, 6, 7, 8, 9, 10] and "STOP" in reasons[7] and "preference" in reasons[8], reasons
    assert "phone" in reasons[3] and "GB" in reasons[6] and reasons[10] == "not UTF-8 text"
    assert "first_name" in reasons[9]  # a multi-line cell is one row, but not a field value
    pat = await db.fetchrow("SELECT name, fields, tags, preference, preference_source FROM contacts WHERE phone = $1",
                            PAT)
    assert (pat["name"], pat["fields"], pat["tags"], pat["preference"], pat["preference_source"]) == (
        "Pat", '{"first_name": "Pat", "reward_amount": "$20"}', ["vip", "spring"], "opted_in", "api")
    alex = await db.fetchrow("SELECT name, fields FROM contacts WHERE phone = $1", ALEX)
    assert (alex["name"], alex["fields"]) == (None, '{"city": "Oslo", "reward_amount": "$30, paid"}')
    assert await db.fetchval("SELECT preference FROM contacts WHERE phone = $1", SAM) == "opted_out"
    again = await import_csv(gateway, cid, text, chunk=4096)
    assert (again["created"], again["updated"], again["unchanged"], again["rejected"]) == (0, 0, 2, 6), again


@pytest.mark.parametrize("body, status, code", [
    ("name,tags\nPat,vip\n", 422, "invalid_csv"),
    ('{"phone": "+14155552671"}', 422, "invalid_csv"),
    (b"\xff\xfephone\n", 422, "invalid_csv"),
    ("", 422, "invalid_csv"),
    ("phone,Bad Name\n+14155552671,x\n", 422, "invalid_csv"),
    ("phone,first_name,field.first_name\n", 422, "invalid_csv"),
])
async def test_a_body_that_is_no_contacts_csv_is_refused_whole(gateway, db, body, status, code):
    cid = (await gateway.community())["id"]
    answer = await import_csv(gateway, cid, body, status=status)
    assert answer["error"]["code"] == code, answer
    assert await db.fetchval("SELECT count(*) FROM contacts") == 0


async def test_an_import_refuses_json_and_too_large_bodies(start_gateway, db):
    gateway = await start_gateway(contacts={"import_max_bytes": 100})
    cid = (await gateway.community())["id"]
    answer = await import_csv(gateway, cid, "phone\n+14155552671\n", status=415, content_type="application/json")
    assert answer["error"]["code"] == "unsupported_media_type"
    rows = "phone\n" + "".join(f"+1415555{2600 + i}\n" for i in range(20))
    async with gateway.client.post(f"/v1/communities/{cid}/contacts/import", data=rows.encode(),
                                   headers={**AUTH, "Content-Type": "text/csv"}) as response:
        assert response.status == 413 and (await response.json())["error"]["code"] == "body_too_large"
    assert await db.fetchval("SELECT count(*) FROM contacts") == 0  # with a Content-Length: before any row
    answer = await import_csv(gateway, cid, rows, status=413)  # chunked: found too large on the way
    assert answer["error"]["code"] == "body_too_large"
    # The rows before the 100th byte are stored, as the answer says (the file may be sent again, split).
    assert await db.fetchval("SELECT count(*) FROM contacts") == (100 - len("phone\n")) // len("+14155552600\n")


async def test_an_export_imports_back(gateway, db):
    cid = (await gateway.community())["id"]
    await put(gateway, cid, PAT, {"name": "Pat, \"P\" Lee", "fields": {"first_name": "Pat", "note": "ünïcode ’"},
                                  "tags": ["vip", "a b"], "preference": "opted_in"})
    await put(gateway, cid, SAM, {"name": "Sam", "fields": {"city": "Oslo"}})
    await gateway.sms(ALEX, PROXY, "STOP")
    rows = await export(gateway, cid)
    assert list(rows[0]) == ["phone", "name", "preference", "tags", "marketing_preference", "preference_changed_at",
                             "preference_keyword",
                             "preference_source", "dnd", "dnd_reason", "dnd_at", "first_inbound_at", "created_at",
                             "updated_at", "field.city", "field.first_name", "field.note"]
    by_phone = {row["phone"]: row for row in rows}
    assert (by_phone[PAT]["tags"], by_phone[PAT]["field.note"], by_phone[ALEX]["preference_keyword"]) == (
        "vip;a b", "ünïcode ’", "STOP")
    assert [row["phone"] for row in await export(gateway, cid, "?tag=vip&fields=note")] == [PAT]
    assert list((await export(gateway, cid, "?fields=note,city"))[0])[-2:] == ["field.note", "field.city"]

    before = await db.fetch("SELECT * FROM contacts ORDER BY phone")
    async with gateway.client.get(f"/v1/communities/{cid}/contacts", headers={**AUTH, "Accept": "text/csv"}) as r:
        text = await r.text()
    answer = await import_csv(gateway, cid, text, chunk=50)
    assert (answer["rows"], answer["unchanged"], answer["rejected"]) == (3, 3, 0), answer
    assert await db.fetch("SELECT * FROM contacts ORDER BY phone") == before

    other = (await gateway.community(numbers=("+14155550109",), name="Other"))["id"]
    answer = await import_csv(gateway, other, text, chunk=50)
    assert (answer["created"], answer["rejected"]) == (3, 0), answer
    assert [(r["phone"], r["name"], r["tags"], r["field.note"], r["field.city"]) for r in await export(gateway, other)] \
        == [(r["phone"], r["name"], r["tags"], r["field.note"], r["field.city"]) for r in rows]


async def test_the_export_streams_every_row_past_100000(gateway, db):
    cid = (await gateway.community())["id"]
    total = 100_123
    await db.execute("INSERT INTO contacts (community_id, phone, name, fields, tags) "
                     "SELECT $1, '+1415' || lpad(n::text, 7, '0'), 'n' || n, jsonb_build_object('first_name', 'F' || n),"
                     " ARRAY['bulk'] FROM generate_series(1, $2) AS n", cid, total)
    count, last, chunks = 0, None, 0
    async with gateway.client.get(f"/v1/communities/{cid}/contacts", headers={**AUTH, "Accept": "text/csv"}) as r:
        assert r.status == 200 and r.headers.get("Content-Length") is None  # streamed, not one body
        rest = b""
        async for chunk in r.content.iter_any():
            chunks += 1
            *lines, rest = (rest + chunk).split(b"\r\n")
            count += len(lines)
            last = lines[-1] if lines else last
    assert rest == b"" and count == total + 1  # the header and every row
    assert last.startswith(b"+14150100123,n100123,unknown,bulk,") and last.endswith(b",F100123")
    assert chunks > 1


async def test_a_row_that_never_ends_stops_the_import_without_holding_the_file(gateway, db):
    cid = (await gateway.community())["id"]
    stored = f"phone,name\n{PAT},Pat\n"
    for endless in ('+14155552672,"an unclosed quote\n' + "more lines\n" * 7000, "+14155552672," + "x" * 70000):
        answer = await import_csv(gateway, cid, stored + endless, status=422, chunk=1000)
        assert answer["error"]["code"] == "invalid_csv" and "longer than 65536" in answer["error"]["message"]
    assert await db.fetchval("SELECT phone FROM contacts") == PAT  # the rows before it are stored, as it says
    answer = await import_csv(gateway, cid, stored + '+14155552672,"unclosed at the end\n')
    assert (answer["unchanged"], answer["rejected"]) == (1, 1) and "quote" in answer["rejections"][0]["reason"]

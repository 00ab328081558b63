"""Time zones: only names both Postgres and Python can use, and one community's bad row never stops the others."""

import pytest

from tests.helpers import PROXY_2, wait_for

# Python's zoneinfo loads each of these; Postgres refuses every one ("time zone ... not recognized").
UNUSABLE = ["right/UTC", "posixrules", "localtime", "posix/America/New_York", "Mars/Olympus", "", "UTC+5"]


@pytest.mark.parametrize("zone", UNUSABLE)
async def test_a_time_zone_postgres_cannot_use_is_refused(gateway, zone):
    community = await gateway.community()
    status, body = await gateway.call("PATCH", f"/v1/communities/{community['id']}", {"timezone": zone})
    assert (status, body["error"]["code"]) == (422, "invalid_field"), body
    assert "timezone" in body["error"]["message"]
    status, body = await gateway.call("POST", "/v1/communities", {"name": "B", "numbers": [PROXY_2], "timezone": zone})
    assert (status, body["error"]["code"]) == (422, "invalid_field"), body
    status, body = await gateway.call("GET", f"/v1/communities/{community['id']}")
    assert body["timezone"] == "UTC"


async def test_a_time_zone_both_know_is_taken(gateway):
    community = await gateway.community(timezone="Pacific/Kiritimati")
    assert community["timezone"] == "Pacific/Kiritimati"
    status, body = await gateway.call("PATCH", f"/v1/communities/{community['id']}", {"timezone": "Etc/GMT+12"})
    assert (status, body["timezone"]) == (200, "Etc/GMT+12")


async def _reset_today(db, community_id):
    return await db.fetchval("SELECT current_day = (now() AT TIME ZONE timezone)::date FROM communities WHERE id = $1",
                             community_id)


async def test_a_row_written_before_the_check_does_not_stop_the_daily_reset_of_others(gateway, db):
    good = await gateway.community()
    bad = await gateway.community(numbers=[PROXY_2], name="Old row")
    # Written before the API checked the name (or by hand): Postgres cannot use it.
    await db.execute("UPDATE communities SET timezone = 'right/UTC' WHERE id = $1", bad["id"])
    # Midnight passes for both (yesterday's day, which began yesterday).
    await db.execute("UPDATE communities SET current_day = current_day - 1, day_started_at = day_started_at - '1 day'::interval")
    await wait_for(lambda: _reset_today(db, good["id"]), what="the good community's reset")
    status, body = await gateway.call("GET", f"/v1/communities/{bad['id']}")
    assert status == 200 and body["timezone"] == "right/UTC"

    async def skipped():
        status, text = await gateway.call("GET", "/metrics")
        return 'gateway_task_rows_skipped_total{task="daily_reset"}' in text
    await wait_for(skipped, what="the bad row counted as skipped")

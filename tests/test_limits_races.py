"""Every limit under real concurrency (many HTTP calls at once, two gateways on one Postgres and Redis), and
settings changes that must not grant a second daily allowance."""

import asyncio
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from gateway.compliance import limits
from tests.fakes import Reply
from tests.helpers import PAT, PROXY, SAM, wait_for
from tests.test_limits import _conversation, _mirrored, _settled, _statuses, _write


def _phones(count):
    return [f"+1415555{3000 + i:04d}" for i in range(count)]


# The starts queue on one lock per community, then per phone: on a loaded machine the last waits longer than the
# tests' usual 2 s statement budget (and would be answered 503). The limits are what these tests are about.
DATABASE = {"pool_max": 10, "command_timeout": 10.0}


async def _start(gateway, community_id, phone):
    status, _ = await gateway.call("POST", "/v1/verifications", {"community_id": community_id, "phone": phone})
    return status


async def test_the_hourly_community_limit_holds_for_many_starts_at_once_on_two_gateways(start_gateway, db):
    settings = {"verification": {"per_community_per_hour": 10}, "database": DATABASE}
    first, second = await start_gateway(**settings), await start_gateway(**settings)
    community = await first.community(require_verification=True)
    phones = _phones(40)
    statuses = await asyncio.gather(*(_start(first if i % 2 else second, community["id"], phone)
                                      for i, phone in enumerate(phones)))
    assert sorted(set(statuses)) == [201, 429] and statuses.count(201) == 10, statuses
    assert await db.fetchval("SELECT count(*) FROM verification_sends") == 10


async def test_the_hourly_phone_limit_holds_for_many_starts_at_once_on_two_gateways(start_gateway, db):
    settings = {"database": DATABASE}
    first, second = await start_gateway(**settings), await start_gateway(**settings)
    community = await first.community(require_verification=True)
    statuses = await asyncio.gather(*(_start(first if i % 2 else second, community["id"], PAT) for i in range(20)))
    assert statuses.count(201) == 5 and statuses.count(429) == 15, statuses


async def test_a_counter_reloaded_while_sends_are_in_flight_counts_them(start_gateway, db, redis_client):
    gateway = await start_gateway(carrier={"send_timeout": 10.0}, queue={"lease_seconds": 15.0})
    community = await gateway.community(daily_limit_levels=[10])
    gateway.carrier.then(*[Reply(delay=3.0)] * 10)  # the carrier takes its time over the first ten
    conversation_id, notification_id = await _conversation(gateway, community["id"])
    first = [notification_id, *await _write(gateway, conversation_id, 9)]

    async def in_flight():
        return len(gateway.carrier.requests) == 10
    await wait_for(in_flight, what="ten sends at the carrier")
    for key in await redis_client.keys("gw:{c:*"):
        await redis_client.delete(key)  # Redis lost the counters while the ten were at the carrier
    later = await _write(gateway, conversation_id, 10, body="n{i}")
    await wait_for(lambda: _settled(db, first + later), timeout=15, what="sent or held")
    assert [s for s, _ in await _statuses(db, first + later)].count("accepted") == 10
    assert len(gateway.carrier.sent) == 10


async def test_the_auto_reply_goes_once_for_many_texts_at_once(start_gateway, db):
    first, second = await start_gateway(), await start_gateway()
    await first.community()
    results = await asyncio.gather(*((first if i % 2 else second).sms(SAM, PROXY, f"hello {i}") for i in range(30)))
    assert {status for status, _ in results} == {200}
    assert await db.fetchval("SELECT count(*) FROM messages WHERE kind = 'auto_reply'") == 1


async def test_a_webhook_is_never_tried_more_than_max_attempts(start_gateway, db, hook_receiver):
    gateway = await start_gateway(hooks={"max_attempts": 2})
    community = await gateway.community()
    hook_receiver.failures = 100
    # Two tries were taken; the process that took the second died before it could record the outcome, and its
    # claim has run out.
    delivery = await db.fetchval(
        "INSERT INTO webhook_deliveries (community_id, url, event, payload, attempts, next_attempt_at)"
        " VALUES ($1, $2, 'community_warning', '{}', 2, now()) RETURNING id", community["id"], hook_receiver.url)

    async def settled():
        return await db.fetchval("SELECT status FROM webhook_deliveries WHERE id = $1", delivery) != "pending"
    await wait_for(settled, what="the delivery given up")
    row = await db.fetchrow("SELECT status, attempts FROM webhook_deliveries WHERE id = $1", delivery)
    assert (row["status"], row["attempts"]) == ("failed", 2)
    assert hook_receiver.received == []


async def test_webhook_deliveries_are_tried_by_one_process_at_a_time(start_gateway, db, hook_receiver):
    # Two processes polling the same deliveries: each must still be posted once.
    first = await start_gateway()
    await start_gateway()
    community = await first.community()
    for i in range(40):
        await db.execute("INSERT INTO webhook_deliveries (community_id, url, event, payload) VALUES ($1, $2, 'e', $3)",
                         community["id"], hook_receiver.url, f'{{"n": {i}}}')

    async def delivered():
        return await db.fetchval("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'") == 40
    await wait_for(delivered, what="all delivered")
    assert sorted(r["body"] for r in hook_receiver.received) == sorted(f'{{"n": {i}}}' for i in range(40))


def _zone_on_another_date() -> str:
    """A zone whose local date differs from UTC's right now: far east, or far west, whatever the hour."""
    now = datetime.now(timezone.utc)
    east = now.astimezone(ZoneInfo("Pacific/Kiritimati")).date()
    return "Pacific/Kiritimati" if east != now.date() else "Etc/GMT+12"


async def _reset_task_ran(db, sentinel_id):
    return await db.fetchval("SELECT current_day = (now() AT TIME ZONE 'UTC')::date FROM communities WHERE id = $1",
                             sentinel_id)


async def test_changing_the_time_zone_mid_day_grants_no_second_allowance(gateway, db):
    community = await gateway.community(daily_limit_levels=[7, 14])
    sentinel = await gateway.community(numbers=["+14155550109"], name="Sentinel")
    conversation_id, notification_id = await _conversation(gateway, community["id"])
    ids = [notification_id, *await _write(gateway, conversation_id, 6)]
    await wait_for(lambda: _settled(db, ids, ("accepted",)), what="the day's 7 sent")
    await wait_for(lambda: _mirrored(db, 7), what="mirrored")
    zone = _zone_on_another_date()
    status, body = await gateway.call("PATCH", f"/v1/communities/{community['id']}", {"timezone": zone})
    assert status == 200 and body["daily"]["used"] == 7
    # The real reset task runs after the change: the sentinel's day ended, so a pass resets it.
    await db.execute("UPDATE communities SET current_day = current_day - 1,"
                     " day_started_at = day_started_at - interval '1 day' WHERE id = $1", sentinel["id"])
    await wait_for(lambda: _reset_task_ran(db, sentinel["id"]), what="a pass of the reset task")
    more = await _write(gateway, conversation_id, 7, body="more{i}")
    await wait_for(lambda: _settled(db, more), what="sent or held")
    assert await _statuses(db, more) == [("held", "daily_limit")] * 7
    status, body = await gateway.call("GET", f"/v1/communities/{community['id']}")
    assert (body["daily"]["level"], body["daily"]["limit"], body["daily"]["used"]) == (1, 7, 7)
    assert datetime.fromisoformat(body["daily"]["resets_at"]) >= datetime.now(timezone.utc) + timedelta(hours=3)


def test_the_next_reset_is_a_local_midnight_at_least_23_hours_after_the_last():
    day = datetime(2026, 11, 29, tzinfo=timezone.utc)
    moment = day + timedelta(hours=1)
    # Switched from UTC to UTC+14 an hour into the day: Kiritimati's next midnight is only 10 h after the last
    # reset, so the day ends at the one after it.
    assert limits.next_reset("Pacific/Kiritimati", moment, day.date(), day) == day + timedelta(hours=34)
    # To UTC-12: its next midnight falls on the day that is already counting; the one after ends it.
    assert limits.next_reset("Etc/GMT+12", moment, day.date(), day) == day + timedelta(hours=12 + 24)
    assert limits.next_reset("UTC", moment, day.date(), day) == day + timedelta(hours=24)
    # A spring-forward day is 23 hours long, and still a day.
    start = datetime(2026, 3, 8, 5, tzinfo=timezone.utc)
    from datetime import date
    assert limits.next_reset("America/New_York", start, date(2026, 3, 8), start) == start + timedelta(hours=23)

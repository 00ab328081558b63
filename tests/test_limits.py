"""Daily ramp-up and monthly limits: segment-true, atomic across processes, mirrored in Postgres."""

from datetime import datetime, timezone

import pytest

from gateway.compliance import limits
from tests.fakes import unwrap
from tests.helpers import ALEX, PAT, PROXY, PROXY_2, SAM, wait_for


async def _conversation(gateway, community_id, prospect=(PAT, "Pat")) -> tuple[int, int]:
    """A conversation started as the platform starts one: (its id, its notification's id). The notification to
    Alex is the community's first send (one segment), counted like any other."""
    conversation = await gateway.conversation(community_id, prospect=prospect)
    return conversation["id"], conversation["notification"]["id"]


async def _write(gateway, conversation_id, count, body="m{i}") -> list[int]:
    """Messages written into the conversation from the web site, to Alex, as the platform writes them; their ids."""
    ids = []
    for i in range(count):
        status, message = await gateway.call("POST", f"/v1/conversations/{conversation_id}/messages",
                                              {"from": "prospect", "body": body.format(i=i)})
        assert status == 201, message
        ids.append(message["id"])
    return ids


async def _bodies(gateway, ids):
    return [unwrap((await gateway.message(message_id))["body"]) for message_id in ids]


async def _statuses(db, ids):
    rows = await db.fetch("SELECT status, status_reason FROM messages WHERE id = ANY($1) ORDER BY id", ids)
    return [(r["status"], r["status_reason"]) for r in rows]


async def _settled(db, ids, done=("accepted", "held")):
    return all(status in done for status, _ in await _statuses(db, ids))


async def _yesterday(db, redis_client):
    """As if the local day had ended: what was counted today belongs to yesterday."""
    await db.execute("UPDATE usage_counters SET period_start = period_start - 1 WHERE period = 'day'")
    for key in await redis_client.keys("gw:{c:*}:day:*"):
        await redis_client.delete(key)
    await db.execute("UPDATE communities SET current_day = current_day - 1,"
                     " day_started_at = day_started_at - interval '1 day'")


async def test_over_the_daily_limit_messages_wait_for_the_reset(start_gateway, db, redis_client):
    # 20 a second per number: sends from one number go one after another, so their order shows.
    gateway = await start_gateway(relay={"per_number_rate": 20.0})
    community = await gateway.community(daily_limit_levels=[3], daily_limit_ceiling=10)
    conversation_id, notification_id = await _conversation(gateway, community["id"])
    ids = [notification_id, *await _write(gateway, conversation_id, 4)]
    await wait_for(lambda: _settled(db, ids), what="sent or held")
    assert [s for s, _ in await _statuses(db, ids)].count("accepted") == 3
    assert sorted(await _statuses(db, ids))[-2:] == [("held", "daily_limit")] * 2
    held = await _bodies(gateway, [i for i, (status, _) in zip(ids, await _statuses(db, ids)) if status == "held"])
    status, body = await gateway.call("GET", f"/v1/communities/{community['id']}")
    assert {k: body["daily"][k] for k in ("level", "limit", "used")} == {"level": 1, "limit": 3, "used": 3}
    assert datetime.fromisoformat(body["daily"]["resets_at"]) > datetime.now(timezone.utc)

    await wait_for(lambda: _mirrored(db, 3), what="mirrored in Postgres")
    # Midnight passes: today's counts become yesterday's (in Postgres, and Redis starts a new day's key).
    # The community sent its whole limit yesterday, so it moves up a level.
    await _yesterday(db, redis_client)
    await wait_for(lambda: _settled(db, ids, ("accepted",)), what="held messages sent after the reset")
    status, body = await gateway.call("GET", f"/v1/communities/{community['id']}")
    assert (body["daily"]["level"], body["daily"]["limit"], body["daily"]["used"]) == (2, 10, 2)
    # The held ones: queued oldest first, but two senders may reach the carrier in either order under load.
    assert sorted(gateway.carrier.bodies_to(ALEX)[-2:]) == sorted(held)


async def test_a_day_below_the_limit_does_not_raise_the_level(gateway, db, redis_client):
    community = await gateway.community(daily_limit_levels=[3, 6])
    conversation_id, _ = await _conversation(gateway, community["id"])
    await _write(gateway, conversation_id, 1)
    await gateway.delivered_to(ALEX, 2)
    await wait_for(lambda: _mirrored(db, 2), what="mirrored in Postgres")
    await _yesterday(db, redis_client)
    await wait_for(lambda: _current_day_is_today(db, community["id"]), what="reset")
    assert await db.fetchval("SELECT daily_level FROM communities") == 1


async def _current_day_is_today(db, community_id):
    return await db.fetchval("SELECT current_day = (now() AT TIME ZONE timezone)::date FROM communities WHERE id = $1",
                             community_id)


async def test_segments_are_what_counts(gateway, db):
    community = await gateway.community(daily_limit_levels=[5])
    conversation_id, notification_id = await _conversation(gateway, community["id"])  # 1 segment
    ids = await _write(gateway, conversation_id, 3, body="x{i}" + "y" * 200)  # 2 segments each
    await wait_for(lambda: _settled(db, [notification_id, *ids]), what="sent or held")
    assert [s for s, _ in await _statuses(db, ids)].count("accepted") == 2  # 1 + 2 + 2 = 5: the third waits
    status, body = await gateway.call("GET", f"/v1/messages/{ids[0]}")
    assert body["segments"] == 2


async def test_two_processes_race_on_one_daily_counter(start_gateway, db):
    first, second = await start_gateway(), await start_gateway()
    community = await first.community(numbers=[PROXY, PROXY_2], daily_limit_levels=[10])
    conversation_id, notification_id = await _conversation(first, community["id"])
    other_id, other_notification_id = await _conversation(second, community["id"], prospect=(SAM, "Sam"))
    ids = [notification_id, other_notification_id]
    ids += await _write(first, conversation_id, 14)
    ids += await _write(second, other_id, 14, body="n{i}")
    await wait_for(lambda: _settled(db, ids), timeout=10, what="sent or held")
    assert [s for s, _ in await _statuses(db, ids)].count("accepted") == 10
    assert len(first.carrier.sent) == 10  # both gateways share the fake carrier
    assert await db.fetchval("SELECT sum(segments) FROM usage_counters WHERE period = 'day'") == 10


async def test_counter_survives_losing_redis(gateway, db, redis_client):
    community = await gateway.community(daily_limit_levels=[3])
    conversation_id, _ = await _conversation(gateway, community["id"])
    await _write(gateway, conversation_id, 1)
    await gateway.delivered_to(ALEX, 2)
    await wait_for(lambda: _mirrored(db, 2), what="mirrored in Postgres")
    for key in await redis_client.keys("gw:{c:*"):
        await redis_client.delete(key)  # the counters are gone from Redis
    status, body = await gateway.call("GET", f"/v1/communities/{community['id']}")
    assert body["daily"]["used"] == 2 and body["monthly"]["used"] == 2
    ids = await _write(gateway, conversation_id, 2, body="after{i}")
    await wait_for(lambda: _settled(db, ids), what="sent or held")
    assert sorted(s for s, _ in await _statuses(db, ids)) == ["accepted", "held"]  # 2 + 1 = the limit of 3


async def _mirrored(db, segments):
    return await db.fetchval("SELECT sum(segments) FROM usage_counters WHERE period = 'day'") == segments


async def test_keyword_confirmations_go_out_over_the_limit(gateway, db):
    community = await gateway.community(daily_limit_levels=[1])
    await _conversation(gateway, community["id"])  # its notification uses the day's one segment
    await gateway.delivered_to(ALEX)
    await gateway.sms(PAT, PROXY, "HELP")
    await gateway.sms(ALEX, PROXY, "STOP")
    await gateway.delivered_to(PAT)
    assert (await gateway.delivered_to(ALEX, 2))[1].startswith("You're unsubscribed")


async def test_monthly_limit_review_queue(gateway, db):
    community = await gateway.community(monthly_limit=2)
    conversation_id, notification_id = await _conversation(gateway, community["id"])
    ids = [notification_id, *await _write(gateway, conversation_id, 4)]
    await wait_for(lambda: _settled(db, ids), what="sent or held")
    path = f"/v1/communities/{community['id']}"
    status, body = await gateway.call("GET", f"{path}/held")
    held = [m["id"] for m in body["messages"]]
    assert len(held) == 3 and set(held) < set(ids) and held == sorted(held)
    assert {m["status_reason"] for m in body["messages"]} == {"monthly_limit"}
    assert (await gateway.call("GET", path))[1]["monthly"] == {"limit": 2, "used": 2}

    status, body = await gateway.call("POST", f"/v1/messages/{held[0]}/release")
    assert status == 200
    await wait_for(lambda: _settled(db, [held[0]], ("accepted",)), what="released message sent over the limit")
    status, body = await gateway.call("POST", f"/v1/messages/{held[1]}/cancel")
    assert body["status"] == "canceled"
    status, body = await gateway.call("POST", f"/v1/messages/{held[1]}/release")
    assert (status, body["error"]["code"]) == (409, "message_not_held")
    status, body = await gateway.call("POST", f"{path}/held/cancel", {"ids": [held[2]]})
    assert (status, body) == (200, {"canceled": [held[2]]})
    assert (await gateway.call("GET", f"{path}/held"))[1] == {"messages": []}


async def test_release_all_held(gateway, db):
    community = await gateway.community(monthly_limit=1)
    conversation_id, notification_id = await _conversation(gateway, community["id"])
    ids = [notification_id, *await _write(gateway, conversation_id, 2)]
    await wait_for(lambda: _settled(db, ids), what="sent or held")
    held = [i for i, (status, _) in zip(ids, await _statuses(db, ids)) if status == "held"]
    status, body = await gateway.call("POST", f"/v1/communities/{community['id']}/held/release")
    assert (status, body) == (200, {"released": held}) and len(held) == 2
    await wait_for(lambda: _settled(db, ids, ("accepted",)), what="all sent")


def test_next_reset_is_local_midnight():
    moment = datetime(2026, 11, 29, 3, 30, tzinfo=timezone.utc)  # 22:30 the day before in New York
    assert limits.next_reset("America/New_York", moment) == datetime(2026, 11, 29, 5, 0, tzinfo=timezone.utc)
    assert limits.next_reset("UTC", moment) == datetime(2026, 11, 30, 0, 0, tzinfo=timezone.utc)
    assert limits.daily_limit(1, [200, 400], 5000) == 200 and limits.daily_limit(3, [200, 400], 5000) == 5000


@pytest.mark.parametrize("payload", [{"daily_limit_levels": []}, {"daily_limit_levels": [0]},
                                     {"timezone": "Mars/Olympus"}, {"monthly_limit": -1}, {"daily_limit_ceiling": 0}])
async def test_bad_limit_settings_are_refused(gateway, payload):
    community = await gateway.community()
    status, body = await gateway.call("PATCH", f"/v1/communities/{community['id']}", payload)
    assert (status, body["error"]["code"]) == (422, "invalid_field")
    status, body = await gateway.call("GET", f"/v1/communities/{community['id']}")
    assert (body["timezone"], body["monthly"]["limit"], body["daily"]["limit"]) == ("UTC", None, 200)  # unchanged


async def test_limit_settings_are_validated(gateway):
    community = await gateway.community()
    path = f"/v1/communities/{community['id']}"
    status, body = await gateway.call("PATCH", path, {"timezone": "America/Chicago", "monthly_limit": 100,
                                                      "daily_limit_levels": [50, 100], "daily_limit_ceiling": 500})
    assert (status, body["timezone"], body["monthly"]["limit"]) == (200, "America/Chicago", 100)
    assert (body["daily"]["levels"], body["daily"]["ceiling"], body["daily"]["limit"]) == ([50, 100], 500, 50)
    status, body = await gateway.call("PATCH", path, {"monthly_limit": None, "daily_limit_levels": None})
    assert (status, body["monthly"]["limit"]) == (200, None)
    assert body["daily"]["levels"] == [200, 400, 600, 800, 1000, 1200, 1400, 2000]


async def test_a_send_the_carrier_refused_gives_its_segments_back(gateway, db):
    from tests.fakes import Reply
    community = await gateway.community(daily_limit_levels=[2])
    gateway.carrier.then(Reply(400, 21211, "The 'To' number is not a valid phone number."))
    conversation_id, notification_id = await _conversation(gateway, community["id"])  # the refused send
    await wait_for(lambda: _settled(db, [notification_id], ("failed",)), what="refused by the carrier")
    ids = await _write(gateway, conversation_id, 2, body="n{i}")
    await wait_for(lambda: _settled(db, ids, ("accepted",)), what="both sent: the failed one used nothing")
    status, body = await gateway.call("GET", f"/v1/communities/{community['id']}")
    assert body["daily"]["used"] == 2

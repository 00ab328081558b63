"""Limits per unit (issue 14): an MMS counts as one MMS and a WhatsApp message as one WhatsApp message, apart from SMS
segments, each under its own daily and monthly limits; in Redis and the Postgres mirror, across processes and after
a Redis loss with MMS in flight."""

from datetime import date

import pytest

from gateway.compliance import limits
from gateway.config import LimitsSettings
from gateway.storage.messages import SendingMessage
from gateway.vocabulary import MessageKind, MessageStatus, UsageUnit
from tests.fakes import Reply
from tests.helpers import ALEX, PAT, PROXY, wait_for
from tests.test_limits import _settled, _statuses
from tests.test_media import FAST, mms, picture

LONG = "The lease, page {n}: " + "x" * 400  # three SMS segments of text


async def _start(gateway, **settings):
    community = await gateway.community(**settings)
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)  # the notification: one SMS segment
    return community, conversation


async def _send_mms(gateway, n: int) -> None:
    url = gateway.carrier.media.add(picture(n), "image/png")
    status, _ = await gateway.sms(PAT, PROXY, LONG.format(n=n), extra=mms(url))
    assert status == 200


async def _copies(db, conversation_id) -> list[int]:
    """The relayed copies to Alex, oldest first (the notification left out)."""
    rows = await db.fetch("SELECT id FROM messages WHERE conversation_id = $1 AND direction = 'outbound'"
                          " AND kind = 'relay' AND to_number = $2 ORDER BY id", conversation_id, ALEX)
    return [row["id"] for row in rows]


async def _count(db, conversation_id, count):
    """count copies, each sent or held for good: one held awaiting_media (its pictures still being fetched) is not
    settled yet."""
    ids = await _copies(db, conversation_id)
    return len(ids) == count and all(status == "accepted" or (status == "held" and reason != "awaiting_media")
                                     for status, reason in await _statuses(db, ids))


async def _mirror(db) -> dict[str, int]:
    rows = await db.fetch("SELECT unit, sum(segments) AS n FROM usage_counters WHERE period = 'day' GROUP BY unit")
    return {row["unit"]: row["n"] for row in rows}


async def test_an_mms_counts_as_one_mms_and_waits_at_its_own_limit_while_sms_go(start_gateway, db, redis_client):
    gateway = await start_gateway(media=FAST)
    community, conversation = await _start(gateway, daily_limit_levels=[4], mms_daily_limit=1)
    await _send_mms(gateway, 1)
    await _send_mms(gateway, 2)
    # Their pictures are fetched side by side, so either may be released first and take the one MMS of the day.
    expected = [("accepted", None), ("held", "daily_limit")]

    async def one_sent_one_held():  # "held" alone is not enough: awaiting_media is held too
        return sorted(await _statuses(db, await _copies(db, conversation["id"]))) == expected
    await wait_for(one_sent_one_held, what="one MMS sent, one held at the MMS limit")
    copies = await _copies(db, conversation["id"])
    statuses = await _statuses(db, copies)
    first, second = copies if statuses[0][0] == "accepted" else reversed(copies)
    assert (await gateway.message(first))["segments"] == 3  # the text's segments, shown; counted as one MMS
    # SMS still go: two more one-segment texts, with the notification 3 of the SMS limit of 4.
    for text in ("Hello?", "Still there?"):
        await gateway.sms(PAT, PROXY, text)
    await wait_for(lambda: _count(db, conversation["id"], 4), what="the texts sent")
    assert [s for s, _ in await _statuses(db, await _copies(db, conversation["id"]))].count("accepted") == 3
    _, body = await gateway.call("GET", f"/v1/communities/{community['id']}")
    assert (body["daily"]["used"], body["monthly"]["used"]) == (3, 3)
    assert body["units"]["mms"] == {"daily_limit": 1, "monthly_limit": 3000, "used_today": 1, "used_month": 1}
    assert body["units"]["whatsapp"]["used_today"] == 0
    await wait_for(lambda: _now(_mirror(db), {"sms_segment": 3, "mms": 1}), what="each unit mirrored apart")
    assert gateway.metrics.mms._value.get() == 1 and gateway.metrics.segments._value.get() == 3
    # Midnight: the held MMS goes with the day's reset, and counts on the new day.
    await db.execute("UPDATE usage_counters SET period_start = period_start - 1 WHERE period = 'day'")
    for key in await redis_client.keys("gw:{c:*day:*"):
        await redis_client.delete(key)
    await db.execute("UPDATE communities SET current_day = current_day - 1,"
                     " day_started_at = day_started_at - interval '1 day'")
    await wait_for(lambda: _settled(db, [second], ("accepted",)), what="the held MMS sent after the reset")
    _, body = await gateway.call("GET", f"/v1/communities/{community['id']}")
    assert (body["units"]["mms"]["used_today"], body["units"]["mms"]["used_month"]) == (1, 2)
    assert body["daily"]["level"] == 1  # 3 SMS segments of 4 (and 1 MMS): MMS never raise the level


async def test_the_mms_and_whatsapp_limits_are_settings_of_the_community(gateway):
    community = await gateway.community(mms_daily_limit=5)
    assert community["units"]["mms"]["daily_limit"] == 5
    assert community["units"]["whatsapp"] == {"daily_limit": 1000, "monthly_limit": 20000, "used_today": 0,
                                              "used_month": 0}  # the gateway's (config.toml)
    path = f"/v1/communities/{community['id']}"
    for bad in ({"mms_daily_limit": -1}, {"whatsapp_monthly_limit": "many"}, {"mms_monthly_limit": 10 ** 10}):
        status, body = await gateway.call("PATCH", path, bad)
        assert status == 422 and body["error"]["code"] == "invalid_field", body
    status, body = await gateway.call("PATCH", path, {"mms_daily_limit": None, "whatsapp_monthly_limit": 0})
    assert status == 200, body
    assert (body["units"]["mms"]["daily_limit"], body["units"]["whatsapp"]["monthly_limit"]) == (200, 0)


async def _now(found, expected):
    return await found == expected


async def test_two_processes_share_the_mms_limit(start_gateway, db):
    one, two = await start_gateway(media=FAST), await start_gateway(media=FAST)
    _, conversation = await _start(one, mms_daily_limit=3)
    for n in range(6):
        await _send_mms(one if n % 2 else two, n)
    await wait_for(lambda: _count(db, conversation["id"], 6), timeout=15, what="sent or held")
    statuses = await _statuses(db, await _copies(db, conversation["id"]))
    assert sorted(statuses) == [("accepted", None)] * 3 + [("held", "daily_limit")] * 3
    assert len([m for m in one.carrier.sent if m.get("MediaUrl")]) == 3  # both gateways share the fake carrier
    await wait_for(lambda: _now(_mirror(db), {"sms_segment": 1, "mms": 3}), what="mirrored")


async def test_a_redis_loss_with_mms_in_flight_reloads_them_in_the_mms_counter(start_gateway, db, redis_client):
    gateway = await start_gateway(media=FAST, carrier={"send_timeout": 10.0}, queue={"lease_seconds": 15.0})
    community, conversation = await _start(gateway, mms_daily_limit=4, daily_limit_levels=[10])
    gateway.carrier.then(*[Reply(delay=3.0)] * 3)  # the carrier takes its time over the next three
    for n in range(3):
        await _send_mms(gateway, n)

    async def in_flight():
        return len([r for r in gateway.carrier.requests if r.get("MediaUrl")]) == 3
    await wait_for(in_flight, timeout=10, what="three MMS at the carrier")
    for key in await redis_client.keys("gw:{c:*"):
        await redis_client.delete(key)  # Redis lost every counter while the three were at the carrier
    for n in range(3, 6):
        await _send_mms(gateway, n)
    await gateway.sms(PAT, PROXY, "And a plain text")  # SMS: its own counter, reloaded apart
    await wait_for(lambda: _count(db, conversation["id"], 7), timeout=20, what="sent or held")
    statuses = await _statuses(db, await _copies(db, conversation["id"]))
    # 3 in flight + 1 = the MMS limit of 4; the plain text went as SMS.
    assert sorted(statuses) == [("accepted", None)] * 5 + [("held", "daily_limit")] * 2
    _, body = await gateway.call("GET", f"/v1/communities/{community['id']}")
    assert body["units"]["mms"]["used_today"] == 4 and body["daily"]["used"] == 2


def _sending(**fields):
    base = SendingMessage(1, 7, None, MessageKind.RELAY, PROXY, ALEX, "hi", 1, 3, False, MessageStatus.SUBMITTING,
                          None, False, "UTC", date(2026, 11, 30), 1, [5, 10], 20, 100, None)
    return base._replace(**fields)


@pytest.mark.parametrize("unit, fields, expected", [
    # SMS: the message's segments under the ramp-up level and the monthly limit.
    (UsageUnit.SMS_SEGMENT, {}, (3, 5, 100)),
    (UsageUnit.SMS_SEGMENT, {"daily_level": 3}, (3, 20, 100)),
    # MMS and WhatsApp: one message, under the gateway's limits unless the community set its own.
    (UsageUnit.MMS, {}, (1, 200, 3000)),
    (UsageUnit.MMS, {"unit_limits": (2, None, 9, 9)}, (1, 2, 3000)),
    (UsageUnit.WHATSAPP, {}, (1, 1000, 20000)),
    (UsageUnit.WHATSAPP, {"unit_limits": (2, 2, 0, None)}, (1, 0, 20000)),
])
def test_a_send_reserves_in_its_unit(unit, fields, expected):
    reserved = limits.reservation(LimitsSettings(), _sending(**fields), unit)
    assert (reserved.segments, reserved.daily_limit, reserved.monthly_limit) == expected
    assert (reserved.unit, reserved.day) == (unit, date(2026, 11, 30))

"""Quiet hours on real servers (README "Quiet hours"): marketing and bulk texts wait for the recipient's window in
the recipient's own time zone, by a clock the test sets (create_app(config, clock=...)), never by a sleep."""

import asyncio
from datetime import datetime, timezone

import pytest

from gateway.clock import Clock
from gateway.keys import CLOCK, DISPATCHER, POOL
from gateway.messaging import quiet
from gateway.storage import messages
from gateway.vocabulary import MessageKind, Priority
from tests.helpers import ALEX, PAT, PROXY, wait_for
from tests.test_sends import template

LA = "+12135550123"  # Los Angeles, CA
NY = "+12125550123"  # New York, NY
SD = "+16055550123"  # South Dakota: Mountain and Central
FAST = {"compliance": {"quiet_release_interval": 0.05}}


class SetClock(Clock):
    """A clock the test moves."""

    def __init__(self, at: str) -> None:
        self.set(at)

    def set(self, at: str) -> None:
        self.at = datetime.fromisoformat(at).replace(tzinfo=timezone.utc)

    def now(self) -> datetime:
        return self.at


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# A template send stored as the sends API stores one, with its category: for the tables below, which try kinds and
# categories the API would not (the API's own path is tried by the tests marked "through the API").
INSERT = """
WITH message AS (
    INSERT INTO messages (community_id, direction, kind, priority, from_number, to_number, body, status,
                          status_reason, segments, category)
    SELECT $1, 'outbound', $2, 'bulk', $3, $4, $5, CASE WHEN block.reason IS NULL THEN 'queued' ELSE 'blocked' END,
           block.reason, 1, $6
    FROM (SELECT (SELECT b.reason FROM outbound_block($1, $4, $2, $6) b) AS reason) block
    RETURNING id, status, status_reason, segments
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, status FROM message
)
SELECT id, status, status_reason, segments FROM message
"""


async def marketing(gateway, community_id: int, to: str, body: str = "20% off this week",
                    kind: MessageKind = MessageKind.TRIGGERED, category: str | None = "marketing",
                    sender: str = PROXY, dispatch: bool = True) -> int:
    """A template send (kind triggered or broadcast, a category), queued, or blocked as the sends API blocks."""
    stored = messages.StoredOutbound.of(await gateway.pool.fetchrow(INSERT, community_id, kind, sender, to, body,
                                                                    category))
    if stored.status == "queued" and dispatch:
        assert await gateway.dispatcher.dispatch(stored, Priority.BULK, sender)
    return stored.id


async def settled(gateway, message_id: int, *statuses: str) -> dict:
    async def check():
        found = await gateway.message(message_id)
        return found if found["status"] in statuses else None
    return await wait_for(check, what=f"message {message_id} {statuses}")


async def screen(gateway, phone: str) -> list[dict]:
    status, body = await gateway.call("GET", "/sandbox/messages?phone=" + phone.replace("+", "%2B"))
    assert status == 200, body
    return body["messages"]


async def test_a_marketing_text_to_los_angeles_at_6_am_pacific_waits_until_8(start_gateway):
    clock = SetClock("2027-01-12T14:00")  # 6 am Pacific (PST)
    gateway = await start_gateway("sandbox", clock=clock, **FAST)
    community = await gateway.community()
    mid = await marketing(gateway, community["id"], LA)
    held = await settled(gateway, mid, "held")
    assert held["status_reason"] == "quiet_hours"
    assert utc(held["held_until"]) == datetime(2027, 1, 12, 16, tzinfo=timezone.utc)  # 8 am Pacific
    # Held before the sender identification was used: the text waits as written.
    assert held["body"] == "20% off this week"
    assert await screen(gateway, LA) == []
    clock.set("2027-01-12T15:59:59")  # one second before 8 am: nothing is due
    app = gateway.client.app
    assert await quiet.release_due(app[POOL], app[DISPATCHER], app[CLOCK]) == 0
    assert (await gateway.message(mid))["status"] == "held"
    clock.set("2027-01-12T16:00")
    sent = await settled(gateway, mid, "sent", "delivered")
    assert sent["held_until"] is None
    [text] = await wait_for(lambda: screen(gateway, LA), what="the text on the sandbox")
    assert text["body"] == "Acme Housing: 20% off this week Reply STOP to opt out."


async def _approved_marketing(gateway, community_id: int, body: str) -> int:
    tid = await template(gateway, community_id, body=body, category="marketing")
    status, answer = await gateway.call("PUT", f"/v1/communities/{community_id}/contacts/{LA}",
                                        {"name": "Lee", "preference": "opted_in"})
    assert status in (200, 201), answer
    return tid


async def test_through_the_api_a_marketing_send_and_a_broadcast_to_la_at_6_am_wait_until_8(start_gateway):
    clock = SetClock("2027-01-12T14:00")  # 6 am Pacific (PST)
    gateway = await start_gateway("sandbox", clock=clock, **FAST)
    community = (await gateway.community())["id"]
    tid = await _approved_marketing(gateway, community, "Spring offer for {name}")
    status, sent = await gateway.call("POST", f"/v1/communities/{community}/sends", {"template_id": tid, "to": LA})
    assert status == 201, sent
    status, broadcast = await gateway.call("POST", f"/v1/communities/{community}/broadcasts",
                                           {"template_id": tid, "audience": {"phones": [LA]}})
    assert status == 201, broadcast
    held = await settled(gateway, sent["id"], "held")
    assert (held["status_reason"], utc(held["held_until"])) == (
        "quiet_hours", datetime(2027, 1, 12, 16, tzinfo=timezone.utc))

    async def broadcast_held():
        rows = await gateway.pool.fetch("SELECT status, status_reason FROM messages WHERE broadcast_id = $1",
                                        broadcast["id"])
        return [tuple(r) for r in rows] == [("held", "quiet_hours")] or None

    await wait_for(broadcast_held, 10, "the broadcast's copy held for quiet hours")
    assert await screen(gateway, LA) == []
    clock.set("2027-01-12T16:00")  # 8 am Pacific
    await settled(gateway, sent["id"], "sent", "delivered")
    texts = await wait_for(lambda: _at_least(screen(gateway, LA), 2), 10, "both texts on the sandbox")
    assert all("Spring offer for Lee" in text["body"] for text in texts)


async def _at_least(found, count: int):
    found = await found
    return found if len(found) >= count else None


async def test_in_summer_8_am_pacific_is_15_00_utc(start_gateway):
    gateway = await start_gateway("sandbox", clock=SetClock("2027-07-12T13:00"), **FAST)  # 6 am PDT
    community = await gateway.community()
    held = await settled(gateway, await marketing(gateway, community["id"], LA), "held")
    assert utc(held["held_until"]) == datetime(2027, 7, 12, 15, tzinfo=timezone.utc)


@pytest.mark.parametrize("now, to, kind, category, goes", [
    ("2027-01-12T13:30", NY, MessageKind.TRIGGERED, "marketing", True),  # 8:30 am Eastern, 5:30 am Pacific
    ("2027-01-12T13:30", LA, MessageKind.TRIGGERED, "marketing", False),
    ("2027-01-12T13:30", LA, MessageKind.TRIGGERED, "transactional", True),  # exempt
    ("2027-01-12T13:30", LA, MessageKind.BROADCAST, "transactional", False),  # bulk, whatever its category
    ("2027-01-12T13:30", LA, MessageKind.NOTIFICATION, None, True),
    ("2027-01-12T14:30", SD, MessageKind.TRIGGERED, "marketing", False),  # 8:30 Central is 7:30 Mountain
    ("2027-01-12T15:00", SD, MessageKind.TRIGGERED, "marketing", True),  # 8 am Mountain, 9 am Central
])
async def test_each_recipient_by_their_own_zones(start_gateway, now, to, kind, category, goes):
    gateway = await start_gateway("sandbox", clock=SetClock(now), **FAST)
    community = await gateway.community()
    found = await settled(gateway, await marketing(gateway, community["id"], to, kind=kind, category=category),
                          "held", "sent", "delivered")
    assert (found["status"] != "held") is goes, found


async def test_a_conversation_relay_at_6_am_goes(start_gateway):
    gateway = await start_gateway(clock=SetClock("2027-01-12T14:00"), **FAST)  # 6 am Pacific: PAT and ALEX are 415
    community = await gateway.community()
    await gateway.conversation(community["id"])
    await gateway.sms(PAT, PROXY, "Is the flat still free?")
    await wait_for(lambda: _now("Is the flat still free?" in gateway.carrier.bodies_to(ALEX)), what="the relay")


async def _now(value):
    return value


async def test_quiet_hours_off_sends_at_once(start_gateway):
    gateway = await start_gateway("sandbox", clock=SetClock("2027-01-12T14:00"), **FAST)
    community = await gateway.community(quiet_hours=False)
    await settled(gateway, await marketing(gateway, community["id"], LA), "sent", "delivered")


async def test_turning_quiet_hours_off_sends_what_waits(start_gateway):
    gateway = await start_gateway("sandbox", clock=SetClock("2027-01-12T14:00"), **FAST)
    cid = (await gateway.community())["id"]
    mid = await marketing(gateway, cid, LA)
    await settled(gateway, mid, "held")
    status, body = await gateway.call("PATCH", f"/v1/communities/{cid}", {"quiet_hours": False})
    assert status == 200, body
    await settled(gateway, mid, "sent", "delivered")


async def test_a_held_text_uses_none_of_the_daily_limit(start_gateway):
    clock = SetClock("2027-01-12T14:00")
    gateway = await start_gateway("sandbox", clock=clock, **FAST)
    community = await gateway.community(daily_limit_levels=[1], daily_limit_ceiling=1)
    held = await marketing(gateway, community["id"], LA)
    await settled(gateway, held, "held")
    status, shown = await gateway.call("GET", f"/v1/communities/{community['id']}")
    assert shown["daily"]["used"] == 0, shown["daily"]
    # The day's one segment is still there for a text that may go now.
    first = await marketing(gateway, community["id"], NY, category="transactional")
    await settled(gateway, first, "sent", "delivered")
    # At 8 am Pacific the held text is asked again, and now meets the daily limit.
    clock.set("2027-01-12T16:00")
    await wait_for(lambda: _reason_is(gateway, held, "daily_limit"), what="held for the daily limit")
    assert (await gateway.message(held))["held_until"] is None


async def _reason_is(gateway, message_id, reason):
    return (await gateway.message(message_id))["status_reason"] == reason


async def test_two_processes_release_each_text_once(start_gateway, clean):
    clock = SetClock("2027-01-12T14:00")
    one = await start_gateway(clock=clock, compliance={"quiet_release_interval": 3600.0})
    two = await start_gateway(clock=clock, compliance={"quiet_release_interval": 3600.0})
    community = await one.community()
    phones = [f"+1213555{n:04d}" for n in range(30)]
    ids = [await marketing(one, community["id"], phone) for phone in phones]
    for mid in ids:
        await settled(one, mid, "held")
    clock.set("2027-01-12T16:00")
    counts = await asyncio.gather(*(quiet.release_due(app[POOL], app[DISPATCHER], app[CLOCK], batch=4)
                                    for app in (one.client.app, two.client.app) for _ in range(3)))
    assert sum(counts) == len(ids)
    for mid in ids:
        await settled(one, mid, "accepted", "sent", "delivered")
    for phone in phones:
        assert len(one.carrier.bodies_to(phone)) == 1
    queued = await one.pool.fetchval("SELECT count(*) FROM message_events WHERE status = 'queued' AND "
                                     "message_id = ANY($1)", ids)
    assert queued == 2 * len(ids)  # stored, then released once


@pytest.mark.parametrize("settings, field", [
    ({"quiet_hours_start": "21:00", "quiet_hours_end": "08:00"}, "quiet_hours_start"),
    ({"quiet_hours_start": "22:00"}, "quiet_hours_start"),  # after the end already stored
    ({"quiet_hours_end": "07:00"}, "quiet_hours_start"),
    ({"quiet_hours_start": "07:30"}, "TCPA"),
    ({"quiet_hours_end": "21:30"}, "TCPA"),
    ({"quiet_hours_start": "8:00"}, "quiet_hours_start"),
    ({"quiet_hours_start": "24:00"}, "quiet_hours_start"),
    ({"quiet_hours_start": "08:00:00"}, "quiet_hours_start"),
    ({"quiet_hours_start": None}, "quiet_hours_start"),
    ({"quiet_hours_end": 2100}, "quiet_hours_end"),
    ({"quiet_hours": "yes"}, "quiet_hours"),
])
async def test_a_bad_window_is_refused_and_nothing_changes(gateway, settings, field):
    community = await gateway.community()
    status, body = await gateway.call("PATCH", f"/v1/communities/{community['id']}", settings)
    assert status == 422, body
    assert field in body["error"]["message"]
    _, shown = await gateway.call("GET", f"/v1/communities/{community['id']}")
    assert (shown["quiet_hours"], shown["quiet_hours_start"], shown["quiet_hours_end"]) == (True, "08:00", "21:00")


async def test_a_window_is_set_and_shown(gateway):
    community = await gateway.community(quiet_hours_start="09:30")
    assert (community["quiet_hours_start"], community["quiet_hours_end"]) == ("09:30", "21:00")
    status, body = await gateway.call("PATCH", f"/v1/communities/{community['id']}",
                                      {"quiet_hours_end": "18:15", "quiet_hours": False})
    assert status == 200, body
    assert (body["quiet_hours"], body["quiet_hours_start"], body["quiet_hours_end"]) == (False, "09:30", "18:15")
    status, listed = await gateway.call("GET", "/v1/communities")
    assert listed["communities"][0]["quiet_hours_end"] == "18:15"
    status, body = await gateway.call("POST", "/v1/communities", {"name": "X", "numbers": ["+14155550199"],
                                                                  "quiet_hours_start": "21:00"})
    assert status == 422, body


async def test_the_first_text_to_reach_a_phone_carries_the_identification(start_gateway):
    clock = SetClock("2027-01-12T14:00")
    gateway = await start_gateway("sandbox", clock=clock, **FAST)
    community = await gateway.community()
    held = await marketing(gateway, community["id"], LA)
    await settled(gateway, held, "held")
    # A text that may go at 6 am (a transactional one) reaches the phone first: it carries the identification.
    first = await marketing(gateway, community["id"], LA, body="Your reward is approved", category="transactional")
    await settled(gateway, first, "sent", "delivered")
    clock.set("2027-01-12T16:00")
    await settled(gateway, held, "sent", "delivered")
    bodies = [text["body"] for text in await wait_for(lambda: _two(screen(gateway, LA)), what="both texts")]
    assert bodies == ["Acme Housing: Your reward is approved Reply STOP to opt out.", "20% off this week"]


async def _two(screened):
    found = await screened
    return found if len(found) == 2 else None


async def test_held_texts_are_listed_and_can_be_canceled(start_gateway):
    gateway = await start_gateway("sandbox", clock=SetClock("2027-01-12T14:00"), **FAST)
    cid = (await gateway.community())["id"]
    mid = await marketing(gateway, cid, LA)
    await settled(gateway, mid, "held")
    status, listed = await gateway.call("GET", f"/v1/communities/{cid}/held?reason=quiet_hours")
    assert status == 200 and [m["id"] for m in listed["messages"]] == [mid], listed
    assert utc(listed["messages"][0]["held_until"]) == datetime(2027, 1, 12, 16, tzinfo=timezone.utc)
    status, body = await gateway.call("POST", f"/v1/communities/{cid}/held/cancel", {"reason": "quiet_hours"})
    assert (status, body) == (200, {"canceled": [mid]})
    assert (await gateway.message(mid))["status"] == "canceled"

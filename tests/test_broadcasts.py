"""Broadcasts on real servers: a thousand contacts through every audience rule and the daily limit, cancel mid-way,
two processes sharing one broadcast, a process killed mid-page (README "Broadcasts")."""

import asyncio
import json
from collections import Counter
from datetime import datetime, timedelta, timezone

from tests.helpers import PROXY, PROXY_2, wait_for
from tests.test_sends import post, template

FAST = {"broadcasts": {"poll_interval": 0.05, "page_size": 100}}


async def contacts(db, community_id, phones, name="Ana", preference="opted_in", marketing="unknown", dnd=None,
                   tags=("spring",), fields=None) -> None:
    """Many contacts in one statement, as an import would leave them."""
    await db.execute("INSERT INTO contacts (community_id, phone, name, fields, preference, marketing_preference, dnd,"
                     " tags) SELECT $1, p, $3, $4::jsonb, $5, $6, $7, $8 FROM unnest($2::text[]) p", community_id,
                     phones, name, json.dumps(fields or {}), preference, marketing, dnd, list(tags))


def mobiles(start, count):
    return [f"+1415555{n:04d}" for n in range(start, start + count)]


async def broadcast(gateway, community_id, bid):
    status, body = await gateway.call("GET", f"/v1/communities/{community_id}/broadcasts/{bid}")
    assert status == 200, body
    return body


async def _state(gateway, community_id, bid, state):
    body = await broadcast(gateway, community_id, bid)
    return body if body["state"] == state else None


def _adds_up(body):
    outcomes, progress = body["outcomes"], body["progress"]
    assert progress["total"] == progress["pending"] + sum(outcomes["skipped"].values()) + sum(
        outcomes["messages"].values())
    assert sum(outcomes["held"].values()) == outcomes["messages"]["held"]
    assert sum(outcomes["blocked"].values()) == outcomes["messages"]["blocked"]


async def _yesterday(db, redis_client):
    """As if the local day had ended (as tests/test_limits.py drives the reset)."""
    await db.execute("UPDATE usage_counters SET period_start = period_start - 1 WHERE period = 'day'")
    for key in await redis_client.keys("gw:{c:*}:day:*"):
        await redis_client.delete(key)
    await db.execute("UPDATE communities SET current_day = current_day - 1,"
                     " day_started_at = day_started_at - interval '1 day'")


async def test_a_thousand_contacts_through_the_rules_and_the_daily_limit(start_gateway, db, redis_client):
    gateway = await start_gateway(**FAST)
    community = (await gateway.community(daily_limit_levels=[300], quiet_hours=False))["id"]
    tid = await template(gateway, community, body="Hi {name}, {offer} this week.", category="marketing")
    sendable, dnd, no_name = mobiles(1000, 800), mobiles(2000, 30), mobiles(2100, 20)
    opted_out, unknown = mobiles(3000, 50), mobiles(3100, 60)
    landlines = [f"+1415556{n:04d}" for n in range(40)]  # the sandbox lookup's landline range
    await contacts(db, community, sendable + landlines)
    await contacts(db, community, dnd, dnd="temporary")
    await contacts(db, community, no_name, name=None)
    await contacts(db, community, opted_out, preference="opted_out")
    await contacts(db, community, unknown, preference="unknown")
    await contacts(db, community, mobiles(4000, 5), tags=("autumn",))  # not in the filter
    status, created, _ = await post(gateway, f"/v1/communities/{community}/broadcasts", {
        "template_id": tid, "audience": {"filter": {"tag": "spring"}}, "data": {"offer": "20% off"}}, key="spring-1")
    assert status == 201, created
    bid = created["id"]
    await wait_for(lambda: _state(gateway, community, bid, "completed"), timeout=30, what="the broadcast completed")
    await wait_for(lambda: _settled(db, bid), timeout=30, what="sent or held")
    body = await broadcast(gateway, community, bid)
    assert body["progress"] == {"total": 1000, "processed": 1000, "pending": 0}
    assert body["outcomes"]["skipped"] == {"missing_fields": 20, "not_mobile": 40, "not_opted_in": 60,
                                           "opted_out": 50}
    assert body["outcomes"]["messages"] == {"queued": 0, "sent": 300, "delivered": 0, "failed": 0, "held": 500,
                                            "blocked": 30, "canceled": 0}
    assert (body["outcomes"]["held"], body["outcomes"]["blocked"]) == ({"daily_limit": 500}, {"dnd": 30})
    _adds_up(body)
    assert gateway.carrier.bodies_to(sendable[0]) in ([], ["Hi Ana, 20% off this week."])
    # The next day the held ones go, each once.
    await _yesterday(db, redis_client)
    await wait_for(lambda: _all_accepted(db, bid, 800), timeout=30, what="the held texts sent after the reset")
    assert Counter(m["To"] for m in gateway.carrier.sent) == Counter(sendable)
    body = await broadcast(gateway, community, bid)
    assert body["outcomes"]["messages"]["sent"] == 800 and body["outcomes"]["held"] == {}
    _adds_up(body)
    _, text = await gateway.call("GET", "/metrics")
    assert 'gateway_broadcast_recipients_skipped_total{reason="not_mobile"} 40.0' in text
    assert 'gateway_template_sends_total{category="marketing",kind="broadcast",outcome="queued"} 800.0' in text


async def _settled(db, bid):
    return not await db.fetchval("SELECT count(*) FROM messages WHERE broadcast_id = $1 AND status IN ('queued', "
                                 "'submitting')", bid)


async def _all_accepted(db, bid, count):
    return await db.fetchval("SELECT count(*) FROM messages WHERE broadcast_id = $1 AND status = 'accepted'",
                             bid) == count


async def _processed(gateway, community_id, bid, count):
    body = await broadcast(gateway, community_id, bid)
    return body if body["progress"]["processed"] == count else None


async def test_cancel_mid_way(start_gateway, db, redis_client):
    gateway = await start_gateway(**FAST)
    community = (await gateway.community(daily_limit_levels=[5], quiet_hours=False))["id"]
    tid = await template(gateway, community, body="Reward ready, {name}.")
    phones = mobiles(1000, 100)
    await contacts(db, community, phones)
    start = (datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat()
    status, created, _ = await post(gateway, f"/v1/communities/{community}/broadcasts", {
        "template_id": tid, "audience": {"phones": phones}, "send_at": start})
    assert (status, created["state"], created["progress"]["pending"]) == (201, "scheduled", 100), created
    bid = created["id"]
    # The last 30 recipients are held by another transaction (a process mid-page): the loop takes the others.
    holder = db.transaction()
    await holder.start()
    await db.fetch("SELECT id FROM broadcast_recipients WHERE broadcast_id = $1 ORDER BY id DESC LIMIT 30 FOR UPDATE",
                   bid)
    other = await wait_for(lambda: _connect(gateway), what="a second connection")
    await wait_for(lambda: _processed(gateway, community, bid, 70), timeout=20, what="70 processed")
    await wait_for(lambda: _settled_in(other, bid), what="sent or held")
    canceling = asyncio.create_task(post(gateway, f"/v1/communities/{community}/broadcasts/{bid}/cancel", None))
    await asyncio.sleep(0.2)  # the cancel waits for the held page (not a wait for a result: it cannot finish yet)
    assert not canceling.done()
    await holder.rollback()
    status, canceled, _ = await canceling
    assert (status, canceled["state"]) == (200, "canceled"), canceled
    assert canceled["outcomes"]["skipped"] == {"canceled": 30}
    assert canceled["outcomes"]["messages"] == {"queued": 0, "sent": 5, "delivered": 0, "failed": 0, "held": 0,
                                                "blocked": 0, "canceled": 65}
    _adds_up(canceled)
    assert await other.fetchval("SELECT count(*) FROM messages WHERE broadcast_id = $1 AND status = 'canceled' AND"
                                " status_reason = 'broadcast_canceled'", bid) == 65
    again = await post(gateway, f"/v1/communities/{community}/broadcasts/{bid}/cancel", None)
    assert (again[0], again[1]["outcomes"]) == (200, canceled["outcomes"])  # idempotent
    # A new day sends none of them.
    await _yesterday(other, redis_client)
    await wait_for(lambda: _day_reset(other, community), what="the reset")
    await asyncio.sleep(0.3)  # a release pass would have queued them by now; none may go
    assert len(gateway.carrier.sent) == 5
    await other.close()


async def _connect(gateway):
    import asyncpg
    return await asyncpg.connect(gateway.config.database.url)


async def _settled_in(db, bid):
    return await _settled(db, bid)


async def _day_reset(db, community_id):
    return await db.fetchval("SELECT current_day = (now() AT TIME ZONE timezone)::date FROM communities WHERE id = $1",
                             community_id)


async def test_a_completed_broadcast_cannot_be_canceled(start_gateway, db):
    gateway = await start_gateway(**FAST)
    community = (await gateway.community(quiet_hours=False))["id"]
    tid = await template(gateway, community, body="Hello.")
    status, created, _ = await post(gateway, f"/v1/communities/{community}/broadcasts",
                                    {"template_id": tid, "audience": {"phones": mobiles(1000, 3)}})
    await wait_for(lambda: _state(gateway, community, created["id"], "completed"), what="completed")
    status, body, _ = await post(gateway, f"/v1/communities/{community}/broadcasts/{created['id']}/cancel", None)
    assert (status, body["error"]["code"]) == (409, "broadcast_completed")


async def test_two_processes_share_one_broadcast_without_a_double_send(start_gateway, db):
    settings = {"broadcasts": {"poll_interval": 0.02, "page_size": 10}}
    first, second = await start_gateway(**settings), await start_gateway(**settings)
    community = (await first.community(numbers=[PROXY, PROXY_2], daily_limit_levels=[1000],
                                       quiet_hours=False))["id"]
    tid = await template(first, community, body="Hi {name}.", category="marketing")
    phones = mobiles(1000, 400)
    await contacts(db, community, phones, marketing="opted_in")
    status, created, _ = await post(first, f"/v1/communities/{community}/broadcasts",
                                    {"template_id": tid, "audience": {"filter": {"preference": "opted_in"}}})
    assert status == 201, created
    await wait_for(lambda: _state(second, community, created["id"], "completed"), timeout=30, what="completed")
    await wait_for(lambda: _all_accepted(db, created["id"], 400), timeout=30, what="all sent")
    assert Counter(m["To"] for m in first.carrier.sent) == Counter(phones)  # each once
    assert await db.fetchval("SELECT count(*) FROM messages WHERE broadcast_id = $1", created["id"]) == 400
    pages = [g.metrics.broadcast_pages._value.get() for g in (first, second)]
    assert sum(pages) >= 40 and all(pages), pages  # both took pages


async def test_a_process_killed_mid_page_leaves_it_for_the_next(start_gateway, db, fake_lookup):
    lookup = {"lookup": {"name": "twilio", "timeout": 60.0}, "twilio": {"lookup_base": fake_lookup.url},
              "broadcasts": {"poll_interval": 0.05, "page_size": 10}}
    first = await start_gateway(**lookup)
    community = (await first.community(quiet_hours=False))["id"]
    tid = await template(first, community, body="Hi {name}.")
    phones = mobiles(1000, 50)
    await contacts(db, community, phones)
    # The first 20 numbers' line types are known; looking up the others hangs the page that needs them.
    await db.execute("INSERT INTO line_types (phone, line_type, source) SELECT p, 'mobile', 'test' FROM "
                     "unnest($1::text[]) p", phones[:20])
    fake_lookup.delay = 30.0
    status, created, _ = await post(first, f"/v1/communities/{community}/broadcasts",
                                    {"template_id": tid, "audience": {"phones": phones}})
    bid = created["id"]
    await wait_for(lambda: _processed(first, community, bid, 20), timeout=20, what="the first two pages")
    await wait_for(lambda: _looking_up(fake_lookup), what="the third page waiting for its lookups")
    await first.client.close()  # the process goes, its page's transaction with it
    assert await db.fetchval("SELECT count(*) FROM messages WHERE broadcast_id = $1", bid) == 20
    fake_lookup.delay = 0.0
    second = await start_gateway(**lookup)
    await wait_for(lambda: _state(second, community, bid, "completed"), timeout=20, what="completed by the next")
    await wait_for(lambda: _all_accepted(db, bid, 50), timeout=20, what="all sent")
    assert Counter(m["To"] for m in second.carrier.sent) == Counter(phones)  # none lost, none twice
    _adds_up(await broadcast(second, community, bid))


async def _looking_up(fake_lookup):
    return len(fake_lookup.requests) > 0

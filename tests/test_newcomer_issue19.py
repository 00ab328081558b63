"""Newcomer 19: the message path's SQL of migrations 0042 (outbound_block inlined; contact upserts skipped for a
phone that wrote to us) and 0043 (conversations.active_day for expiry), tried as a user would: the API and signed
carrier webhooks, real Postgres and Redis."""

import asyncio

import pytest

from tests.helpers import ALEX, PAT, PROXY, PROXY_2, SAM, wait_for
from tests.test_quiet_hours import FAST, LA, SetClock, marketing, screen, settled

OPT_OUT_WORDS = " Reply STOP to opt out."
NOON = "2027-01-12T20:00"  # noon Pacific: quiet hours hold nothing


async def _status(gateway, conversation_id: int) -> str:
    return (await gateway.call("GET", f"/v1/conversations/{conversation_id}"))[1]["status"]


async def _contact(db, phone: str):
    return await db.fetchrow("SELECT first_inbound_at, identified_at FROM contacts WHERE phone = $1", phone)


# ---- expiry (migration 0043: the day index bounds the scan, the exact time decides) ----

async def test_expiry_closes_at_the_exact_limit_whatever_the_utc_day(gateway, db):
    """inactivity_days = 2. A conversation idle 2 days and a second, one idle since the UTC midnight that starts the
    cutoff's day (active_day equal to the day bound), and one idle since the last instant of the day before it, all
    expire; one a minute short of 2 days stays open."""
    cid = (await gateway.community(numbers=(PROXY, PROXY_2), inactivity_days=2))["id"]
    just_past = await gateway.conversation(cid)
    short = await gateway.conversation(cid, prospect=(SAM, "Sam"))
    midnight = await gateway.conversation(cid, advocate=(SAM, "Sam"))
    before_midnight = await gateway.conversation(cid, prospect=("+14155552674", "Kim"), advocate=(SAM, "Sam"))
    await db.execute(
        "UPDATE conversations SET last_activity_at = CASE id"
        " WHEN $1 THEN now() - interval '2 days 1 second'"
        " WHEN $2 THEN now() - interval '2 days' + interval '1 minute'"
        " WHEN $3 THEN (date_trunc('day', (now() - interval '2 days') AT TIME ZONE 'UTC')) AT TIME ZONE 'UTC'"
        " WHEN $4 THEN (date_trunc('day', (now() - interval '2 days') AT TIME ZONE 'UTC')) AT TIME ZONE 'UTC'"
        "              - interval '1 microsecond' END"
        " WHERE id IN ($1, $2, $3, $4)",
        just_past["id"], short["id"], midnight["id"], before_midnight["id"])

    async def all_expired():
        return all([await _status(gateway, c["id"]) == "expired" for c in (just_past, midnight, before_midnight)])

    await wait_for(all_expired, what="the three idle conversations to expire")
    assert await _status(gateway, short["id"]) == "open"


async def test_a_relayed_text_keeps_the_day_index_current(gateway, db):
    """A conversation idle 3 days gets a text (an in-place update of last_activity_at): its active_day moves with it,
    and the expiry pass, which reads the day, does not close it."""
    cid = (await gateway.community(numbers=(PROXY, PROXY_2), inactivity_days=2))["id"]
    conversation = await gateway.conversation(cid)
    witness = await gateway.conversation(cid, prospect=(SAM, "Sam"))
    await db.execute("UPDATE conversations SET last_activity_at = now() - interval '47 hours' WHERE id = $1",
                     conversation["id"])
    assert (await gateway.sms(PAT, PROXY, "still here"))[0] == 200
    await gateway.delivered_to(ALEX, 2)
    row = await db.fetchrow("SELECT active_day, (last_activity_at AT TIME ZONE 'UTC')::date AS day,"
                            " last_activity_at > now() - interval '1 minute' AS fresh FROM conversations WHERE id = $1",
                            conversation["id"])
    assert row["fresh"] and row["active_day"] == row["day"]
    await db.execute("UPDATE conversations SET last_activity_at = now() - interval '3 days' WHERE id = $1",
                     witness["id"])
    await wait_for(lambda: _expired(gateway, witness["id"]), what="an expiry pass")
    assert await _status(gateway, conversation["id"]) == "open"


async def _expired(gateway, conversation_id):
    return await _status(gateway, conversation_id) == "expired"


async def test_last_activity_filters_follow_a_relayed_text(gateway, db):
    """updated_since / updated_until (README "Lists") read the exact last activity, not the day."""
    cid = (await gateway.community())["id"]
    conversation = await gateway.conversation(cid)
    await db.execute("UPDATE conversations SET last_activity_at = now() - interval '5 days' WHERE id = $1",
                     conversation["id"])
    old = (await gateway.call("GET", f"/v1/conversations/{conversation['id']}"))[1]["last_activity_at"]
    await gateway.sms(PAT, PROXY, "bump")
    await gateway.delivered_to(ALEX, 2)
    now = (await gateway.call("GET", f"/v1/conversations/{conversation['id']}"))[1]["last_activity_at"]
    assert now > old

    async def ids(**query):
        status, body = await gateway.call("GET", "/v1/conversations", params=query)
        assert status == 200, body
        return [c["id"] for c in body["conversations"]]

    assert await ids(updated_since=now) == [conversation["id"]]
    assert await ids(updated_until=now) == []
    assert await ids(updated_since=old, updated_until=now) == []


@pytest.mark.parametrize("query", ["updated_since=yesterday", "updated_until=2026-01-01T00:00:00",
                                   "updated_since=9999-12-31T23:59:59-14:00"])
async def test_a_bad_last_activity_filter_is_a_422(gateway, query):
    status, body = await gateway.call("GET", f"/v1/conversations?{query}")
    assert status == 422, body
    assert body["error"]["code"] == "invalid_query" and body["error"]["message"]


@pytest.mark.parametrize("days", [0, 3651, "2", 2.5, None])
async def test_a_bad_inactivity_days_is_a_422_and_changes_nothing(gateway, days):
    cid = (await gateway.community(inactivity_days=5))["id"]
    status, body = await gateway.call("PATCH", f"/v1/communities/{cid}", {"inactivity_days": days})
    assert 400 <= status < 500 and set(body["error"]) >= {"code", "message"}, body
    assert (await gateway.call("GET", f"/v1/communities/{cid}"))[1]["inactivity_days"] == 5


# ---- sender identification (begin_send and the relay skip the contact upsert for a phone that wrote to us) ----

async def test_two_texts_at_once_from_a_new_sender_are_relayed_and_it_is_never_identified(gateway, db):
    cid = (await gateway.community())["id"]
    conversation = await gateway.conversation(cid)
    await gateway.delivered_to(ALEX)
    answers = await asyncio.gather(*(gateway.sms(PAT, PROXY, f"text {i}") for i in range(4)))
    assert [status for status, _ in answers] == [200] * 4
    assert sorted(await gateway.delivered_to(ALEX, 5))[1:] == [f"text {i}" for i in range(4)]
    assert (await _contact(db, PAT))["first_inbound_at"] is not None
    await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                       {"from": "advocate", "body": "Got them all"})
    await gateway.delivered_to(PAT)
    assert gateway.carrier.raw_bodies_to(PAT) == ["Got them all"]


async def test_two_first_texts_at_once_to_a_new_phone_identify_it_once(gateway):
    cid = (await gateway.community(numbers=(PROXY, PROXY_2)))["id"]
    await asyncio.gather(gateway.conversation(cid, message="First"),
                         gateway.conversation(cid, prospect=(SAM, "Sam"), message="Second"))
    await gateway.delivered_to(ALEX, 2)
    bodies = gateway.carrier.raw_bodies_to(ALEX)
    assert sum(body.endswith(OPT_OUT_WORDS) for body in bodies) == 1, bodies


async def test_an_erased_phone_that_wrote_first_is_identified_again_as_a_new_phone(gateway, db):
    cid = (await gateway.community(numbers=(PROXY, PROXY_2)))["id"]
    await gateway.conversation(cid)
    await gateway.sms(PAT, PROXY, "I wrote first")
    await gateway.delivered_to(ALEX, 2)
    status, erased = await gateway.call("POST", f"/v1/communities/{cid}/erasures", {"phone": PAT})
    assert status == 201, erased
    assert await _contact(db, PAT) is None
    # Pat, now unknown to the community, is the one notified of a new conversation: a first text.
    await gateway.conversation(cid, prospect=(SAM, "Sam"), advocate=(PAT, "Pat"), message="Hello again")
    [text] = await gateway.delivered_to(PAT)
    assert gateway.carrier.raw_bodies_to(PAT)[0].endswith(OPT_OUT_WORDS)


async def test_an_erased_opted_out_phone_that_says_start_is_texted_unwrapped(gateway, db):
    cid = (await gateway.community(numbers=(PROXY, PROXY_2)))["id"]
    await gateway.conversation(cid)
    await gateway.sms(PAT, PROXY, "STOP")
    # The confirmation reaches Pat first: an erasure deletes what is still waiting to go to the phone.
    await gateway.delivered_to(PAT, 1)
    status, erased = await gateway.call("POST", f"/v1/communities/{cid}/erasures", {"phone": PAT})
    assert status == 201 and erased["counts"]["contacts_kept_for_opt_out"] == 1
    assert tuple(await _contact(db, PAT)) == (None, None)
    await gateway.sms(PAT, PROXY, "START")  # Pat writes to us again: opted in, and no identification due
    await wait_for(lambda: _first_inbound(db, PAT), what="Pat's text recorded")
    started = await gateway.conversation(cid, prospect=(SAM, "Sam"), advocate=(PAT, "Pat"), message="Welcome back")
    assert started["notification"]["status"] == "queued", started
    await gateway.delivered_to(PAT, 3)  # the STOP and START confirmations, then the notification
    [notification] = [b for b in gateway.carrier.raw_bodies_to(PAT) if "Welcome back" in b]
    assert notification.startswith("Sam via Acme Housing: Welcome back") and not notification.endswith(OPT_OUT_WORDS)


async def _first_inbound(db, phone):
    row = await _contact(db, phone)
    return row is not None and row["first_inbound_at"] is not None


# ---- blocking (outbound_block) ----

async def test_a_marketing_opt_out_does_not_block_a_conversation_relay(start_gateway):
    gateway = await start_gateway(clock=SetClock(NOON))
    cid = (await gateway.community(numbers=(PROXY, PROXY_2)))["id"]
    status, body = await gateway.call("PATCH", f"/v1/communities/{cid}/numbers/%2B{PROXY_2[1:]}",
                                      {"category": "marketing"})
    assert status == 200, body
    conversation = await gateway.conversation(cid)
    await gateway.sms(PAT, PROXY_2, "STOP")
    await wait_for(lambda: _any_to(gateway, PAT, "no more marketing texts"), what="the marketing opt-out reply")
    blocked = await settled(gateway, await marketing(gateway, cid, PAT, sender=PROXY_2), "blocked", "sent",
                            "delivered", "accepted")
    assert (blocked["status"], blocked["status_reason"]) == ("blocked", "opted_out")
    status, sent = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                                      {"from": "advocate", "body": "About the flat"})
    assert status == 201 and sent["status"] == "queued", sent
    await wait_for(lambda: _any_to(gateway, PAT, "About the flat"), what="the relay to Pat")


async def _any_to(gateway, phone, words):
    return any(words in body for body in gateway.carrier.bodies_to(phone))


async def test_a_relay_in_test_mode_follows_the_allow_list_both_ways(gateway):
    cid = (await gateway.community(mode="test"))["id"]
    status, body = await gateway.call("POST", f"/v1/communities/{cid}/allow-list", {"numbers": [ALEX]})
    assert status in (200, 201), body
    conversation = await gateway.conversation(cid)
    await gateway.delivered_to(ALEX)
    await gateway.sms(ALEX, PROXY, "Hi Pat")  # Pat is not on the list: stored blocked
    found = await wait_for(lambda: _relays_to(gateway, conversation["id"], PAT, 1), what="the blocked copy")
    assert (found[0]["status"], found[0]["status_reason"]) == ("blocked", "not_on_allow_list")
    status, body = await gateway.call("POST", f"/v1/communities/{cid}/allow-list", {"numbers": [PAT]})
    assert status in (200, 201), body
    await gateway.sms(ALEX, PROXY, "Now you get it")
    assert await gateway.delivered_to(PAT) == ["Now you get it"]  # Alex texted first but Pat did not: Pat is
    assert gateway.carrier.raw_bodies_to(PAT)[0].endswith(OPT_OUT_WORDS)  # identified on this first text


async def _relays_to(gateway, conversation_id, phone, count):
    found = [m for m in await gateway.messages(conversation_id) if m["kind"] == "relay" and m["to"] == phone]
    return found if len(found) >= count else None


# ---- quiet hours and the identification ----

async def test_a_marketing_text_held_for_quiet_hours_to_a_phone_that_wrote_meanwhile_goes_unwrapped(start_gateway,
                                                                                                     db):
    clock = SetClock("2027-01-12T14:00")  # 6 am Pacific
    gateway = await start_gateway("sandbox", clock=clock, **FAST)
    cid = (await gateway.community())["id"]
    held = await marketing(gateway, cid, LA)
    await settled(gateway, held, "held")
    status, body = await gateway.call("POST", "/sandbox/inbound", {"from": LA, "to": PROXY, "body": "Who is this?"})
    assert status == 200, body
    await wait_for(lambda: _first_inbound(db, LA), what="LA's text recorded")
    clock.set("2027-01-12T16:00")
    await settled(gateway, held, "sent", "delivered")

    async def marketing_text():
        found = [m["body"] for m in await screen(gateway, LA) if "20% off" in m["body"]]
        return found or None

    assert await wait_for(marketing_text, what="the marketing text") == ["20% off this week"]


@pytest.mark.parametrize("first", ["HELP", "Who is this?"])
async def test_a_phone_that_texted_help_first_gets_no_identification(gateway, first):
    """README "Sender identification": "neither is anything to a phone that texted the community first". A phone
    whose first text to the community is HELP (a keyword, answered by the gateway) has texted it first too."""
    cid = (await gateway.community())["id"]
    await gateway.sms(ALEX, PROXY, first)
    await gateway.delivered_to(ALEX)  # the help text, or the auto-reply
    await gateway.conversation(cid, message="Is parking free?")
    await gateway.delivered_to(ALEX, 2)
    notification = gateway.carrier.raw_bodies_to(ALEX)[1]
    assert notification == "Pat via Acme Housing: Is parking free? (Reply to this number to answer.)", notification


async def test_a_dedicated_member_on_dnd_after_a_carrier_error_opens_nothing_until_start(gateway, db):
    """README "Dedicated numbers": a member who takes no texts now (on DND) opens no conversation for a stranger;
    find_number_assignment.sql asks outbound_block. After the member's START, the stranger's text opens one."""
    from tests.fakes import Reply
    from tests.test_teams import assign, conversations_of
    cid = (await gateway.community(numbers=(PROXY, PROXY_2)))["id"]
    await assign(gateway, cid, PROXY_2, {"member": {"phone": ALEX, "name": "Alex"}})
    gateway.carrier.then(Reply(400, 21610, "Attempt to send to unsubscribed recipient"))
    await gateway.conversation(cid)  # its notification to Alex fails 21610: permanent DND
    await wait_for(lambda: _on_dnd(db, ALEX), what="Alex on DND")
    assert (await gateway.sms(SAM, PROXY_2, "Is the flat free?"))[0] == 200
    await wait_for(lambda: _any_to(gateway, SAM, "only relays"), what="the auto-reply to the stranger")
    assert await conversations_of(gateway, SAM) == []
    await gateway.sms(ALEX, PROXY_2, "START")
    await wait_for(lambda: _no_dnd(db, ALEX), what="Alex's DND lifted")
    assert (await gateway.sms(SAM, PROXY_2, "Is the flat free now?"))[0] == 200
    await wait_for(lambda: _any_to(gateway, ALEX, "Is the flat free now?"), what="the stranger's text to Alex")
    assert len(await conversations_of(gateway, SAM)) == 1


async def _on_dnd(db, phone):
    return await db.fetchval("SELECT dnd FROM contacts WHERE phone = $1", phone) is not None


async def _no_dnd(db, phone):
    return await db.fetchval("SELECT dnd IS NULL FROM contacts WHERE phone = $1", phone)

"""A newcomer's attack on issue 14's WhatsApp and limits per unit (README "WhatsApp", "Daily limits and ramp-up"):
each test was failing before the fix committed with it."""

import asyncio

from tests.fakes import Reply
from tests.helpers import ALEX, PAT, PROXY, wait_for
from tests.test_whatsapp import TEMPLATE, WA_PAT, _async, _message, _setup, whatsapp_sent


async def test_a_template_still_waiting_when_the_participant_answers_is_not_sent(gateway):
    """The re-engagement template waited (here at the WhatsApp monthly limit) while Pat answered: the window is open,
    the held text goes as free text, and the template, asking Pat to write, would go after it for nothing (and be
    paid for). Decided at send time: it is canceled."""
    community, conversation = await _setup(gateway, opted_in=True)
    status, body = await gateway.call("PATCH", f"/v1/communities/{community['id']}", {"whatsapp_monthly_limit": 0})
    assert status == 200, body
    await gateway.sms(ALEX, PROXY, "Is Monday fine?")
    await _message(gateway, conversation["id"], kind="whatsapp_template", status="held")
    await gateway.sms(WA_PAT, PROXY, "Yes, go ahead")  # the window opens; the text is queued again
    assert (await gateway.delivered_to(ALEX, 2))[1] == "Yes, go ahead"
    await _message(gateway, conversation["id"], kind="relay", status="held", status_reason="monthly_limit")

    status, body = await gateway.call("POST", f"/v1/communities/{community['id']}/held/release")
    assert status == 200, body
    await wait_for(lambda: _async([m.get("Body") for m in whatsapp_sent(gateway)] == ["Is Monday fine?"]),
                   what="the text sent on WhatsApp")
    template = await _message(gateway, conversation["id"], kind="whatsapp_template", status="canceled")
    assert template["status_reason"] == "whatsapp_template_unneeded"
    assert [m.get("ContentSid") for m in whatsapp_sent(gateway)] == [None]
    assert gateway.carrier.raw_bodies_to(PAT) == []


async def test_a_template_waiting_when_the_phone_is_switched_to_sms_is_not_sent_by_sms(gateway):
    """The template waited (held at the WhatsApp limit) and the platform switched Pat back to SMS: the held text
    goes by SMS, and the template's preview must not follow it as an SMS."""
    community, conversation = await _setup(gateway, opted_in=True)
    await gateway.call("PATCH", f"/v1/communities/{community['id']}", {"whatsapp_monthly_limit": 0})
    await gateway.sms(ALEX, PROXY, "Is Monday fine?")
    await _message(gateway, conversation["id"], kind="whatsapp_template", status="held")
    status, _ = await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/contacts/{PAT}",
                                   {"channel": "sms"})
    assert status == 200
    assert await gateway.delivered_to(PAT) == ["Is Monday fine?"]
    status, body = await gateway.call("POST", f"/v1/communities/{community['id']}/held/release")
    assert status == 200, body
    await _message(gateway, conversation["id"], kind="whatsapp_template", status="canceled")
    assert await gateway.delivered_to(PAT) == ["Is Monday fine?"]
    assert whatsapp_sent(gateway) == []


async def test_an_answer_arriving_while_the_text_is_held_for_the_window_releases_it(gateway, db):
    """Pat answers on WhatsApp while Alex's text is being held for Pat's closed window: the answer's release read the
    messages before the hold was committed, the hold read the window before the answer opened it, and the text
    waited (held whatsapp_window, the window open) until Pat wrote again. Here the answer is made to wait on Pat's
    row (a share lock the test holds, as a send deciding to hold a text takes) while the text is held."""
    _, conversation = await _setup(gateway, opted_in=True)
    lock = db.transaction()
    await lock.start()
    await db.execute("SELECT 1 FROM whatsapp_contacts WHERE phone = $1 FOR SHARE", PAT)
    answer = asyncio.create_task(gateway.sms(WA_PAT, PROXY, "Yes, go ahead"))

    async def waiting():
        return await db.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted") > 0
    await wait_for(waiting, what="the answer waiting for Pat's row")
    await gateway.sms(ALEX, PROXY, "Is Monday fine?")

    async def held():
        return await db.fetchval("SELECT count(*) FROM messages WHERE kind = 'relay' AND to_number = $1"
                                 " AND status = 'held' AND status_reason = 'whatsapp_window'", PAT) == 1
    await wait_for(held, what="the text held for the window")
    await lock.commit()
    status, _ = await answer
    assert status == 200
    await wait_for(lambda: _async([m.get("Body") for m in whatsapp_sent(gateway)
                                   if "ContentSid" not in m] == ["Is Monday fine?"]), what="the text sent")
    text = await _message(gateway, conversation["id"], kind="relay", body="Is Monday fine?")
    assert text["status"] != "held"


async def test_a_redis_loss_with_whatsapp_in_flight_reloads_them_in_the_whatsapp_counter(start_gateway, db,
                                                                                        redis_client):
    """Held up (no fix): the WhatsApp unit's counter is reloaded with its sends in flight, apart from SMS."""
    gateway = await start_gateway(carrier={"send_timeout": 10.0}, queue={"lease_seconds": 15.0})
    community, conversation = await _setup(gateway, opted_in=True)
    await gateway.call("PATCH", f"/v1/communities/{community['id']}", {"whatsapp_daily_limit": 4})
    await gateway.sms(WA_PAT, PROXY, "Hi")  # the window opens
    await gateway.delivered_to(ALEX, 2)
    gateway.carrier.then(*[Reply(delay=3.0)] * 3)
    for n in range(3):
        await gateway.sms(ALEX, PROXY, f"Text {n}")
    await wait_for(lambda: _async(len([r for r in gateway.carrier.requests if r["To"] == WA_PAT]) == 3),
                   timeout=10, what="three WhatsApp texts at the carrier")
    for key in await redis_client.keys("gw:{c:*"):
        await redis_client.delete(key)
    for n in range(3, 6):
        await gateway.sms(ALEX, PROXY, f"Text {n}")
    await gateway.sms(WA_PAT, PROXY, "And an answer")  # to Alex by SMS: its own counter

    async def settled():
        rows = await db.fetch("SELECT status, status_reason FROM messages WHERE conversation_id = $1"
                              " AND kind = 'relay' AND to_number = $2", conversation["id"], PAT)
        found = sorted((r["status"], r["status_reason"]) for r in rows)
        return found if len(found) == 6 and all(s in ("accepted", "sent", "delivered", "held") for s, _ in found) \
            else None
    statuses = await wait_for(settled, timeout=20, what="six texts sent or held")
    assert [s for s in statuses if s[0] == "held"] == [("held", "daily_limit")] * 2
    assert (await gateway.delivered_to(ALEX, 3))[2] == "And an answer"
    _, body = await gateway.call("GET", f"/v1/communities/{community['id']}")
    assert body["units"]["whatsapp"]["used_today"] == 4


async def test_stop_sent_by_sms_from_a_whatsapp_participant_is_confirmed_by_sms(gateway):
    """Pat is on WhatsApp with the number (recorded, opted in; window closed) and texts STOP by SMS: the confirmation
    must reach Pat where the STOP came from, not wait for a WhatsApp window that the opt-out keeps shut (it was held
    whatsapp_window for ever, and the template asking Pat to write was blocked as opted out)."""
    _, conversation = await _setup(gateway, opted_in=True)
    status, _ = await gateway.sms(PAT, PROXY, "STOP")
    assert status == 200
    assert (await gateway.delivered_to(PAT))[0].startswith("You're unsubscribed")
    assert whatsapp_sent(gateway) == []


async def test_the_held_api_releases_an_mms_held_at_its_monthly_limit(start_gateway, db):
    """Held up (no fix): an MMS past mms_monthly_limit is in the review queue; released, it goes over the limit as an
    MMS and counts as one; the SMS counters are untouched."""
    from tests.test_limits_units import _send_mms, _start
    from tests.test_media import FAST
    gateway = await start_gateway(media=FAST)
    community, conversation = await _start(gateway, mms_monthly_limit=1)
    await _send_mms(gateway, 1)
    await _send_mms(gateway, 2)

    async def held():
        return await db.fetchval("SELECT id FROM messages WHERE status = 'held' AND status_reason = 'monthly_limit'")
    held_id = await wait_for(held, what="the second MMS held at the MMS monthly limit")
    status, body = await gateway.call("GET", f"/v1/communities/{community['id']}/held")
    assert status == 200 and [m["id"] for m in body["messages"]] == [held_id], body
    status, body = await gateway.call("POST", f"/v1/messages/{held_id}/release")
    assert status == 200, body
    await wait_for(lambda: _async(len([m for m in gateway.carrier.sent if m.get("MediaUrl")]) == 2),
                   what="both MMS sent")
    _, body = await gateway.call("GET", f"/v1/communities/{community['id']}")
    assert body["units"]["mms"]["used_month"] == 2 and body["daily"]["used"] == 1


async def test_setting_the_template_after_texts_were_held_without_one_sends_it(gateway):
    """No template was set when Alex's text was held for Pat's closed window (logged whatsapp_template_not_sent);
    the platform sets one: it goes to Pat, else the text waits for an answer nobody asked for."""
    community, conversation = await _setup(gateway, opted_in=True, template=False)
    await gateway.sms(ALEX, PROXY, "Is Monday fine?")
    await _message(gateway, conversation["id"], kind="relay", status="held", status_reason="whatsapp_window")
    status, body = await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/template", TEMPLATE)
    assert status == 200, body
    await wait_for(lambda: _async([m.get("ContentSid") for m in whatsapp_sent(gateway)] == [TEMPLATE["template_id"]]),
                   what="the template sent")
    await gateway.sms(WA_PAT, PROXY, "Yes")
    await wait_for(lambda: _async([m.get("Body") for m in whatsapp_sent(gateway)][1:] == ["Is Monday fine?"]),
                   what="the held text sent")


async def test_a_number_given_to_another_community_does_not_carry_whatsapp_opt_ins(gateway):
    """Pat opted in to WhatsApp messages from Acme on its number; the number leaves Acme and goes to Birch, whose
    platform never recorded Pat on WhatsApp: Birch's texts go to Pat by SMS (they went on WhatsApp, and Birch's
    template would have gone on Acme's opt-in)."""
    acme = await gateway.community(numbers=(PROXY, "+14155550101"))
    status, _ = await gateway.call("PUT", f"/v1/communities/{acme['id']}/whatsapp/contacts/{PAT}",
                                   {"channel": "whatsapp", "opted_in": True})
    assert status == 200
    status, body = await gateway.call("DELETE", f"/v1/communities/{acme['id']}/numbers/%2B{PROXY[1:]}")
    assert status == 200, body
    birch = await gateway.community(name="Birch Homes")
    await gateway.conversation(birch["id"], advocate=(PAT, "Pat"), prospect=(ALEX, "Alex"))
    assert (await gateway.delivered_to(PAT))[0].startswith("Alex via Birch Homes")
    assert whatsapp_sent(gateway) == []


async def test_the_answer_to_an_sms_from_a_whatsapp_participant_goes_by_sms(gateway):
    """Pat is recorded on WhatsApp (opted in, window closed) and texts the number by SMS outside any conversation:
    the auto-reply answers by SMS, as STOP's confirmation does; it was held for the window and the template went,
    asking Pat to write on WhatsApp to read that the number relays only active conversations."""
    community = await gateway.community()
    await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/template", TEMPLATE)
    await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/contacts/{PAT}",
                       {"channel": "whatsapp", "opted_in": True})
    status, _ = await gateway.sms(PAT, PROXY, "Hello?")
    assert status == 200
    assert len(await gateway.delivered_to(PAT)) == 1
    assert whatsapp_sent(gateway) == []


async def test_a_verification_code_to_a_phone_recorded_on_whatsapp_goes_by_sms(gateway):
    """The README has the platform record Pat on WhatsApp before the conversation; a community that verifies its
    prospects then sends Pat the code: it was held for Pat's closed window (the template went instead) and expired
    unread. The code verifies the phone, and goes by SMS."""
    community = await gateway.community(require_verification=True)
    await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/template", TEMPLATE)
    await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/contacts/{PAT}",
                       {"channel": "whatsapp", "opted_in": True})
    status, body = await gateway.call("POST", "/v1/verifications", {"community_id": community["id"], "phone": PAT})
    assert status == 201, body
    [code] = await gateway.delivered_to(PAT)
    assert "verification code" in code
    assert whatsapp_sent(gateway) == []


async def test_texts_held_for_whatsapp_can_be_canceled_through_the_held_api(gateway):
    """The README says texts held for WhatsApp's rules "can be canceled as any other"; the held API answered 422 to
    reason whatsapp_window or whatsapp_opt_in, and a single message's cancel is for the monthly limit only."""
    community, conversation = await _setup(gateway, opted_in=False)
    await gateway.sms(ALEX, PROXY, "Are you there?")
    held = await _message(gateway, conversation["id"], kind="relay", status="held", status_reason="whatsapp_opt_in")
    status, body = await gateway.call("GET", f"/v1/communities/{community['id']}/held?reason=whatsapp_opt_in")
    assert status == 200 and [m["id"] for m in body["messages"]] == [held["id"]], body
    status, body = await gateway.call("POST", f"/v1/communities/{community['id']}/held/cancel",
                                      {"reason": "whatsapp_opt_in"})
    assert status == 200, body
    await _message(gateway, conversation["id"], kind="relay", status="canceled")
    await gateway.sms(WA_PAT, PROXY, "Hi")  # the window opens: nothing canceled goes
    await gateway.delivered_to(ALEX, 2)
    assert whatsapp_sent(gateway) == []


async def test_a_whatsapp_message_to_a_number_of_no_community_does_not_follow_it_into_one(gateway):
    """Pat wrote on WhatsApp to a number no community owned (it was recorded: channel WhatsApp, an opt-in by
    writing); the number then joins a community whose platform never recorded Pat on WhatsApp: its texts go to
    Pat by SMS."""
    status, _ = await gateway.sms(WA_PAT, PROXY, "Hello?")
    assert status == 200
    community = await gateway.community()
    await gateway.conversation(community["id"], advocate=(PAT, "Pat"), prospect=(ALEX, "Alex"))
    assert (await gateway.delivered_to(PAT))[0].startswith("Alex via Acme Housing")
    assert whatsapp_sent(gateway) == []

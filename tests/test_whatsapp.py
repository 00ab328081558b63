"""WhatsApp participants in the same conversations as SMS ones (issue 14): Twilio's whatsapp: addresses, the 24-hour
customer-service window, the re-engagement template, opt-in, 63016, STOP, two processes, and counting apart."""

import asyncio

from tests.fakes import Reply
from tests.helpers import ALEX, PAT, PROXY, wait_for

WA_PAT = "whatsapp:" + PAT
TEMPLATE = {"template_id": "HX0123456789abcdef0123456789abcdef", "variables": {"1": "Acme Housing"},
            "preview": "Acme Housing has a message for you. Reply to read it."}


def whatsapp_sent(gateway, phone: str = PAT) -> list[dict]:
    """Every form the fake Twilio accepted for phone on WhatsApp."""
    return [m for m in gateway.carrier.sent if m["To"] == "whatsapp:" + phone]


async def _setup(gateway, *, opted_in: bool, template: bool = True) -> tuple[dict, dict]:
    """A community whose prospect Pat is on WhatsApp (opted in or not) and advocate Alex on SMS; the conversation
    started, Alex's notification delivered."""
    community = await gateway.community()
    if template:
        status, body = await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/template", TEMPLATE)
        assert status == 200, body
    status, body = await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/contacts/{PAT}",
                                      {"channel": "whatsapp", "opted_in": opted_in})
    assert status == 200, body
    assert body["numbers"] == [{"number": PROXY, "channel": "whatsapp", "opted_in": opted_in, "window_open": False}]
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    return community, conversation


async def _message(gateway, conversation_id: int, **match) -> dict:
    async def find():
        found = [m for m in await gateway.messages(conversation_id)
                 if all(m.get(key) == value for key, value in match.items())]
        return found[-1] if found else None
    return await wait_for(find, what=f"a message with {match}")


async def test_a_whatsapp_participant_and_an_sms_participant_talk_both_ways(gateway):
    _, conversation = await _setup(gateway, opted_in=False)
    # Pat never wrote and was not recorded as opted in: nothing goes to them, not even the template.
    await gateway.sms(ALEX, PROXY, "Yes, utilities too.")
    held = await _message(gateway, conversation["id"], kind="relay", status="held")
    assert held["status_reason"] == "whatsapp_opt_in"
    assert whatsapp_sent(gateway) == [] and gateway.carrier.bodies_to(PAT) == []

    # Pat writes on WhatsApp: the window opens, the held text goes (as WhatsApp, no sender identification) and
    # Pat's message reaches Alex by SMS.
    status, _ = await gateway.sms(WA_PAT, PROXY, "Great, thanks!")
    assert status == 200
    await wait_for(lambda: _async(len(whatsapp_sent(gateway)) == 1), what="the held text sent on WhatsApp")
    [sent] = whatsapp_sent(gateway)
    assert sent["Body"] == "Yes, utilities too." and sent["From"] == "whatsapp:" + PROXY
    assert (await gateway.delivered_to(ALEX, 2))[1] == "Great, thanks!"
    assert gateway.carrier.raw_bodies_to(PAT) == []  # never by SMS

    # Inside the window, Alex's next text goes at once as free text.
    await gateway.sms(ALEX, PROXY, "See you Monday.")
    await wait_for(lambda: _async(len(whatsapp_sent(gateway)) == 2), what="the second WhatsApp text")
    assert whatsapp_sent(gateway)[1]["Body"] == "See you Monday."
    inbound = await _message(gateway, conversation["id"], direction="inbound", body="Great, thanks!")
    assert inbound["from"] == PAT  # the same phone and conversation, whatever the channel


async def test_outside_the_window_the_template_goes_and_the_text_waits_for_the_answer(gateway):
    _, conversation = await _setup(gateway, opted_in=True)
    await gateway.sms(ALEX, PROXY, "Are you still interested?")
    await gateway.sms(ALEX, PROXY, "The room is free on Monday.")
    await wait_for(lambda: _async(len(whatsapp_sent(gateway)) == 1), what="the template")
    await wait_for(lambda: _count_held(gateway, conversation["id"], 2), what="both texts held")
    [template] = whatsapp_sent(gateway)
    assert template["ContentSid"] == TEMPLATE["template_id"] and "Body" not in template
    assert template["ContentVariables"] == '{"1":"Acme Housing"}'
    held = [m for m in await gateway.messages(conversation["id"]) if m["kind"] == "relay"]
    assert [(m["status"], m["status_reason"]) for m in held] == [("held", "whatsapp_window")] * 2
    sent_template = await _message(gateway, conversation["id"], kind="whatsapp_template")
    assert sent_template["body"] == TEMPLATE["preview"]

    await gateway.sms(WA_PAT, PROXY, "Yes!")
    await wait_for(lambda: _async(len(whatsapp_sent(gateway)) == 3), what="the held texts released")
    assert sorted(m["Body"] for m in whatsapp_sent(gateway)[1:]) == ["Are you still interested?",
                                                                     "The room is free on Monday."]
    assert len([m for m in whatsapp_sent(gateway) if "ContentSid" in m]) == 1  # the template went once


async def test_the_carrier_saying_63016_holds_the_text_and_sends_the_template(gateway):
    _, conversation = await _setup(gateway, opted_in=False)
    await gateway.sms(WA_PAT, PROXY, "Hello")  # the window is open, as far as we know
    await gateway.delivered_to(ALEX, 2)
    gateway.carrier.then(Reply(status=400, code=63016, message="Outside messaging window"))
    await gateway.sms(ALEX, PROXY, "Sorry for the delay.")
    held = await _message(gateway, conversation["id"], kind="relay", status="held")
    assert held["status_reason"] == "whatsapp_window"
    await wait_for(lambda: _async(any("ContentSid" in m for m in whatsapp_sent(gateway))), what="the template")

    # The carrier said the window is closed: a text queued meanwhile waits too, without a second template.
    await gateway.sms(ALEX, PROXY, "Are you there?")
    await wait_for(lambda: _count_held(gateway, conversation["id"], 2), what="the second text held")
    assert [m.get("Body") for m in whatsapp_sent(gateway)] == [None]

    await gateway.sms(WA_PAT, PROXY, "Here now")
    await wait_for(lambda: _async(len(whatsapp_sent(gateway)) == 3), what="both texts released")
    assert sorted(m.get("Body") for m in whatsapp_sent(gateway)[1:]) == ["Are you there?", "Sorry for the delay."]


async def test_stop_on_whatsapp_opts_out_as_on_sms(gateway):
    _, conversation = await _setup(gateway, opted_in=True)
    await gateway.sms(WA_PAT, PROXY, "STOP")
    await wait_for(lambda: _async(len(whatsapp_sent(gateway)) == 1), what="the STOP confirmation")
    await gateway.sms(ALEX, PROXY, "Still there?")
    blocked = await _message(gateway, conversation["id"], kind="relay")
    assert (blocked["status"], blocked["status_reason"]) == ("blocked", "opted_out")
    assert len(whatsapp_sent(gateway)) == 1


async def test_two_processes_agree_on_the_window(start_gateway, db):
    one = await start_gateway()
    two = await start_gateway()
    _, conversation = await _setup(one, opted_in=False)
    await one.sms(WA_PAT, PROXY, "Hi")  # the window opens through one process...
    await two.sms(ALEX, PROXY, "Hello Pat")  # ...and the other sends free text in it
    await wait_for(lambda: _async([m.get("Body") for m in whatsapp_sent(one)] == ["Hello Pat"]),
                   what="free text in the window")
    # A day later (the window's start moved back), a text through either process waits and the template goes once.
    await db.execute("UPDATE whatsapp_contacts SET last_inbound_at = now() - interval '25 hours'")
    await one.call("PUT", f"/v1/communities/{conversation['community_id']}/whatsapp/template", TEMPLATE)
    await one.sms(ALEX, PROXY, "First")
    await two.sms(ALEX, PROXY, "Second")
    await wait_for(lambda: _count_held(one, conversation["id"], 2), what="both texts held")
    await wait_for(lambda: _async(len(whatsapp_sent(one)) == 2), what="the template")
    assert "ContentSid" in whatsapp_sent(one)[1]
    await two.sms(WA_PAT, PROXY, "Back")
    await wait_for(lambda: _async(len(whatsapp_sent(one)) == 4), what="both released")
    # Released in order; two drainers may send them side by side.
    assert sorted(m["Body"] for m in whatsapp_sent(one)[2:]) == ["First", "Second"]


async def test_whatsapp_is_counted_apart_one_unit_per_message(gateway):
    _, conversation = await _setup(gateway, opted_in=False)
    await gateway.sms(WA_PAT, PROXY, "Hi")
    await gateway.delivered_to(ALEX, 2)
    # Alex's notification and Pat's text: one SMS segment each, counted once the carrier took them.
    await wait_for(lambda: _async(gateway.metrics.segments._value.get() == 2), what="the SMS segments counted")
    long_text = "x" * 400  # three SMS segments
    await gateway.sms(ALEX, PROXY, long_text)
    sent = await _message(gateway, conversation["id"], kind="relay", body=long_text, status="accepted")
    assert sent["segments"] == 1
    await wait_for(lambda: _async(gateway.metrics.whatsapp_sent.labels("text")._value.get() == 1),
                   what="the WhatsApp message counted")
    assert gateway.metrics.segments._value.get() == 2  # no SMS segments for it


async def test_whatsapp_messages_are_held_at_their_own_limit_not_the_sms_one(gateway, db):
    community, conversation = await _setup(gateway, opted_in=False)
    # The SMS monthly limit is one more than Alex's notification used: it never governs WhatsApp messages.
    status, body = await gateway.call("PATCH", f"/v1/communities/{community['id']}",
                                      {"monthly_limit": 2, "whatsapp_daily_limit": 2})
    assert status == 200, body
    assert body["units"]["whatsapp"]["daily_limit"] == 2
    await gateway.sms(WA_PAT, PROXY, "Hi")
    for n in range(3):
        await gateway.sms(ALEX, PROXY, f"Text {n}")
    await wait_for(lambda: _count_held(gateway, conversation["id"], 1), what="the third text held")
    # The first two were queued before the third was held, but may still be on their way to the carrier.
    await wait_for(lambda: _async(len(whatsapp_sent(gateway)) == 2), what="the first two sent")
    held = await _message(gateway, conversation["id"], status="held")
    assert held["status_reason"] == "daily_limit"
    _, body = await gateway.call("GET", f"/v1/communities/{community['id']}")
    assert body["units"]["whatsapp"]["used_today"] == 2 and body["units"]["mms"]["used_today"] == 0
    assert body["daily"]["used"] == body["monthly"]["used"] == 2  # Alex's notification and Pat's text, on SMS
    await wait_for(lambda: _async(gateway.metrics.whatsapp_sent.labels("text")._value.get() == 2),
                   what="two WhatsApp texts counted")

    async def mirrored():
        rows = await db.fetch("SELECT unit, sum(segments) AS n FROM usage_counters WHERE period = 'day' GROUP BY unit")
        return {row["unit"]: row["n"] for row in rows} == {"sms_segment": 2, "whatsapp": 2}
    await wait_for(mirrored, what="each unit mirrored in Postgres apart")


async def test_the_sandbox_plays_a_whatsapp_phone(start_gateway):
    gateway = await start_gateway("sandbox")
    community, conversation = await _setup_sandbox(gateway)
    status, body = await gateway.call("POST", "/sandbox/inbound", {"from": WA_PAT, "to": PROXY, "body": "Hi there"})
    assert status == 200 and body["outcome"] == "relayed", body

    async def screen(phone):
        _, answer = await gateway.call("GET", f"/sandbox/messages?phone=%2B{phone[1:]}")
        return answer["messages"]

    async def released():
        return [(m["channel"], m["body"]) for m in await screen(PAT)] == [("whatsapp", "Welcome!")]
    await wait_for(released, what="the held text on the WhatsApp phone")

    async def relayed():
        return any(m["body"] == "Hi there" and m["channel"] == "sms" for m in await screen(ALEX))
    await wait_for(relayed, what="Pat's WhatsApp text on Alex's SMS phone")


async def _setup_sandbox(gateway) -> tuple[dict, dict]:
    community = await gateway.community()
    await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/contacts/{PAT}", {"channel": "whatsapp"})
    conversation = await gateway.conversation(community["id"])
    await gateway.call("POST", "/sandbox/inbound", {"from": ALEX, "to": PROXY, "body": "Welcome!"})
    await _message(gateway, conversation["id"], kind="relay", status="held")
    return community, conversation


async def test_the_api_refuses_bad_contacts_and_unknown_communities(gateway):
    community = await gateway.community()
    status, body = await gateway.call("PUT", "/v1/communities/999/whatsapp/template", TEMPLATE)
    assert status == 404 and body["error"]["code"] == "community_not_found"
    status, body = await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/contacts/{PAT}",
                                      {"channel": "telegram"})
    assert status == 422
    status, body = await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/contacts/nonsense",
                                      {"channel": "whatsapp"})
    assert status == 422 and body["error"]["code"] == "invalid_number"
    # Back to SMS: texts go by SMS again.
    status, body = await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/contacts/{PAT}",
                                      {"channel": "sms"})
    assert status == 200 and body["numbers"][0]["channel"] == "sms"


async def _count_held(gateway, conversation_id: int, count: int) -> bool:
    held = [m for m in await gateway.messages(conversation_id) if m["kind"] == "relay" and m["status"] == "held"]
    return len(held) == count


async def _async(value):
    return value


async def test_recording_the_opt_in_sends_the_template_for_the_texts_that_waited(gateway):
    community, conversation = await _setup(gateway, opted_in=False)
    await gateway.sms(ALEX, PROXY, "Are you coming?")
    held = await _message(gateway, conversation["id"], kind="relay", status="held")
    assert held["status_reason"] == "whatsapp_opt_in" and whatsapp_sent(gateway) == []
    status, body = await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/contacts/{PAT}",
                                      {"channel": "whatsapp", "opted_in": True})
    assert status == 200 and body["numbers"][0]["opted_in"] is True
    await wait_for(lambda: _async(len(whatsapp_sent(gateway)) == 1), what="the template")
    assert "ContentSid" in whatsapp_sent(gateway)[0]
    held = await _message(gateway, conversation["id"], kind="relay", status="held")
    assert held["status_reason"] == "whatsapp_window"


async def test_63016_in_a_status_callback_holds_a_copy_and_sends_the_template(gateway):
    _, conversation = await _setup(gateway, opted_in=False)
    await gateway.sms(WA_PAT, PROXY, "Hello")
    await gateway.delivered_to(ALEX, 2)
    await gateway.sms(ALEX, PROXY, "Taken, then failed")
    await wait_for(lambda: _async(len(whatsapp_sent(gateway)) == 1), what="the free text")
    accepted = await _message(gateway, conversation["id"], kind="relay", status="accepted", to=PAT)
    status, _ = await gateway.status(whatsapp_sent(gateway)[0]["sid"], "failed", mid=accepted["id"],
                                     error_code="63016")
    assert status == 200
    held = await _message(gateway, conversation["id"], kind="relay", status="held")
    assert (held["body"], held["status_reason"]) == ("Taken, then failed", "whatsapp_window")
    await wait_for(lambda: _async(len(whatsapp_sent(gateway)) == 2), what="the template")
    assert "ContentSid" in whatsapp_sent(gateway)[1]
    assert (await gateway.message(accepted["id"]))["status"] == "failed"
    await gateway.sms(WA_PAT, PROXY, "Back")
    await wait_for(lambda: _async(len(whatsapp_sent(gateway)) == 3), what="the copy released")
    assert whatsapp_sent(gateway)[2]["Body"] == "Taken, then failed"


def test_twilio_owns_its_whatsapp_addresses():
    from gateway.carriers.base import OutboundSms, Template
    from gateway.carriers.twilio import TwilioWire, content, parse_address
    from gateway.vocabulary import Channel

    assert parse_address(WA_PAT) == (PAT, Channel.WHATSAPP) and parse_address(PAT) == (PAT, Channel.SMS)
    form = [("MessageSid", "SM1"), ("From", WA_PAT), ("To", "whatsapp:" + PROXY), ("Body", "Hi")]
    parsed = TwilioWire("t").inbound_from_form(form)
    assert (parsed.from_number, parsed.to_number, parsed.channel) == (PAT, PROXY, Channel.WHATSAPP)
    sms = TwilioWire("t").inbound_from_form([("MessageSid", "SM2"), ("From", PAT), ("To", PROXY), ("Body", "Hi")])
    assert sms.channel == Channel.SMS
    template = Template("HX1", {"1": "Acme"}, "preview")
    assert content(OutboundSms(1, PROXY, PAT, "preview", channel=Channel.WHATSAPP, template=template)) == {
        "ContentSid": "HX1", "ContentVariables": '{"1":"Acme"}'}
    assert content(OutboundSms(1, PROXY, PAT, "Hi")) == {"Body": "Hi"}


async def test_the_sandbox_fails_outside_the_window_on_request(start_gateway):
    gateway = await start_gateway("sandbox")
    community = await gateway.community()
    await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/template", TEMPLATE)
    await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/contacts/{PAT}", {"channel": "whatsapp"})
    conversation = await gateway.conversation(community["id"])
    await gateway.call("POST", "/sandbox/inbound", {"from": WA_PAT, "to": PROXY, "body": "Hi"})
    status, _ = await gateway.call("POST", "/sandbox/failures", {"phone": PAT, "failure": "outside_window"})
    assert status == 200
    await gateway.call("POST", "/sandbox/inbound", {"from": ALEX, "to": PROXY, "body": "Monday?"})
    held = await _message(gateway, conversation["id"], kind="relay", status="held")
    assert held["status_reason"] == "whatsapp_window"
    template = await _message(gateway, conversation["id"], kind="whatsapp_template")
    assert template["status"] in ("queued", "submitting", "accepted", "sent", "delivered")

    async def sent():
        _, answer = await gateway.call("GET", f"/sandbox/messages?phone=%2B{PAT[1:]}")
        return [m["template"] for m in answer["messages"]] == [TEMPLATE["template_id"]]
    await wait_for(sent, what="the template on the WhatsApp phone")


async def test_back_on_sms_the_texts_held_for_whatsapp_go_by_sms(gateway):
    community, conversation = await _setup(gateway, opted_in=False)
    await gateway.sms(ALEX, PROXY, "Are you there?")
    await _message(gateway, conversation["id"], kind="relay", status="held")
    status, _ = await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/contacts/{PAT}",
                                   {"channel": "sms"})
    assert status == 200
    assert await gateway.delivered_to(PAT) == ["Are you there?"]
    assert whatsapp_sent(gateway) == []


async def test_a_text_held_while_the_window_opens_is_not_left_held(gateway, db):
    """The send path decides "outside the window" while the participant's message opens it: the opening waits for
    that decision and then releases the text (before, it released nothing, and the text stayed held until they
    wrote again). A test trigger makes Postgres sleep inside the send's decision to hold it."""
    await _setup(gateway, opted_in=True)
    await db.execute("CREATE FUNCTION test_slow_hold() RETURNS trigger LANGUAGE plpgsql AS "
                     "$$ BEGIN PERFORM pg_sleep(1.0); RETURN NEW; END $$")
    await db.execute("CREATE TRIGGER test_slow_hold BEFORE UPDATE ON messages FOR EACH ROW "
                     "WHEN (NEW.status_reason = 'whatsapp_window' AND OLD.status <> 'held') "
                     "EXECUTE FUNCTION test_slow_hold()")
    try:
        await gateway.sms(ALEX, PROXY, "Parking is included.")
        await asyncio.sleep(0.4)  # the send is deciding to hold it, sleeping in that decision
        await gateway.sms(WA_PAT, PROXY, "Hello?")
        await wait_for(lambda: _async(any(m.get("Body") == "Parking is included." for m in whatsapp_sent(gateway))),
                       timeout=10, what="the text sent once the window opened")
    finally:
        await db.execute("DROP TRIGGER test_slow_hold ON messages")
        await db.execute("DROP FUNCTION test_slow_hold()")

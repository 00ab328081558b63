"""Keywords and SMS preference: STOP for the whole community, START, HELP, the contacts list, the webhook."""

import csv
import io

from standardwebhooks import Webhook

from tests.helpers import ALEX, PAT, PROXY, PROXY_2, SAM, TOKEN, wait_for

UNSUBSCRIBED = "You're unsubscribed from Acme Housing. No more messages will be sent. Reply START to resubscribe."


async def test_stop_opts_out_of_the_whole_community(gateway, db):
    community = await gateway.community(numbers=[PROXY, PROXY_2])
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    assert (await gateway.sms(PAT, PROXY, "Stop."))[0] == 200
    assert await gateway.delivered_to(PAT) == [UNSUBSCRIBED]
    assert gateway.carrier.bodies_to(ALEX) == [gateway.carrier.bodies_to(ALEX)[0]]  # the STOP is not relayed
    contact = await db.fetchrow("SELECT * FROM contacts WHERE phone = $1", PAT)
    assert (contact["preference"], contact["preference_keyword"], contact["preference_source"]) == \
        ("opted_out", "STOP", PROXY)
    assert contact["preference_changed_at"] is not None

    # Nothing else reaches Pat from the community: not a relay, not the web site, not another number.
    await gateway.sms(ALEX, PROXY, "Are you still interested?")
    status, body = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                                      {"from": "advocate", "body": "Hello?"})
    assert (status, body["error"]["code"]) == (409, "recipient_opted_out")
    refused = await db.fetchrow("SELECT status, status_reason FROM messages WHERE id = $1", body["error"]["message_id"])
    assert (refused["status"], refused["status_reason"]) == ("blocked", "opted_out")  # stored, and said which
    second = await gateway.conversation(community["id"], advocate=(SAM, "Sam"))
    assert second["proxy_number"] == PROXY_2
    status, body = await gateway.call("POST", f"/v1/conversations/{second['id']}/messages",
                                      {"from": "advocate", "body": "Hi from the other number"})
    assert status == 409
    blocked = await db.fetch("SELECT status_reason FROM messages WHERE to_number = $1 AND status = 'blocked'", PAT)
    assert [r["status_reason"] for r in blocked] == ["opted_out"] * 3
    assert gateway.carrier.bodies_to(PAT) == [UNSUBSCRIBED]

    # The conversation shows the other party as opted out; a second STOP sends no second confirmation.
    status, shown = await gateway.call("GET", f"/v1/conversations/{conversation['id']}")
    assert shown["prospect"]["preference"] == "opted_out" and shown["advocate"]["preference"] == "unknown"
    await gateway.sms(PAT, PROXY, "STOP")
    await gateway.sms(PAT, PROXY_2, "unsubscribe")
    assert gateway.carrier.bodies_to(PAT) == [UNSUBSCRIBED]


async def test_start_restores_with_one_confirmation(gateway):
    community = await gateway.community()
    await gateway.conversation(community["id"])
    await gateway.sms(PAT, PROXY, "STOP")
    await gateway.sms(PAT, PROXY, "start")
    bodies = await gateway.delivered_to(PAT, 2)
    # (both confirmations may be in flight at once: the tests' numbers send 1000 a second)
    assert set(bodies) == {UNSUBSCRIBED, "You're resubscribed to Acme Housing. Reply STOP to opt out."}
    await gateway.sms(ALEX, PROXY, "Welcome back")
    assert (await gateway.delivered_to(PAT, 3))[2] == "Welcome back"


async def test_help_answers_every_time_and_can_be_customised(gateway):
    community = await gateway.community()
    for word in ("HELP", "info"):
        await gateway.sms(SAM, PROXY, word)
    await gateway.delivered_to(SAM, 2)
    assert gateway.carrier.raw_bodies_to(SAM) == [
        "Acme Housing: texts to this number reach the person you are talking with. "
        "Reply STOP to opt out, START to opt back in."] * 2
    await gateway.call("PATCH", f"/v1/communities/{community['id']}", {"help_text": "Maple Court: call 555-0100."})
    await gateway.sms(SAM, PROXY, "help!")
    assert (await gateway.delivered_to(SAM, 3))[2] == "Maple Court: call 555-0100."


async def test_keyword_replies_are_never_wrapped_or_blocked(gateway):
    await gateway.community(mode="test")  # SAM is on no allow list
    await gateway.sms(SAM, PROXY, "STOP")
    assert await wait_for(lambda: _raw(gateway, SAM), what="confirmation") == [UNSUBSCRIBED]


async def _raw(gateway, phone):
    return gateway.carrier.raw_bodies_to(phone)


async def test_opted_out_phone_cannot_be_sent_a_code(gateway):
    community = await gateway.community(require_verification=True)
    await gateway.sms(PAT, PROXY, "STOP")
    status, body = await gateway.call("POST", "/v1/verifications", {"community_id": community["id"], "phone": PAT})
    assert (status, body["error"]["code"]) == (409, "recipient_opted_out")


async def test_contacts_list_and_csv_export(gateway):
    community = await gateway.community()
    await gateway.sms(PAT, PROXY, "STOP")
    await gateway.sms(SAM, PROXY, "START")
    path = f"/v1/communities/{community['id']}/contacts"
    status, body = await gateway.call("GET", path + "?preference=opted_out")
    assert [(c["phone"], c["preference"], c["preference_keyword"]) for c in body["contacts"]] == \
        [(PAT, "opted_out", "STOP")]
    async with gateway.client.get(path, headers={"Authorization": f"Bearer {TOKEN}", "Accept": "text/csv"}) as r:
        assert r.status == 200 and r.content_type == "text/csv"
        rows = list(csv.DictReader(io.StringIO(await r.text())))
    assert {(row["phone"], row["preference"]) for row in rows} == {(PAT, "opted_out"), (SAM, "opted_in")}
    status, body = await gateway.call("GET", path + "?preference=maybe")
    assert (status, body["error"]["code"]) == (422, "invalid_query")


async def test_preference_changes_reach_the_community_webhook_signed_and_retried(gateway, hook_receiver):
    hook_receiver.failures = 1  # the first try fails: it is retried with backoff
    community = await gateway.community(opt_out_webhook_url=hook_receiver.url)
    await gateway.sms(PAT, PROXY, "STOP")
    await wait_for(lambda: _delivered(hook_receiver, 2), timeout=8, what="webhook retried")
    first, second = hook_receiver.received
    assert first["body"] == second["body"]
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
    # The opt-out webhook is now the contact.preference_changed event, signed as every event is.
    status, secret = await gateway.call("GET", f"/v1/communities/{community['id']}/event-secret")
    payload = Webhook(secret["secret"]).verify(second["body"], second["headers"])
    assert payload["type"] == "contact.preference_changed"
    assert payload["data"] == {"community_id": community["id"], "phone": PAT, "preference": "opted_out",
                               "previous": "unknown", "keyword": "STOP", "number": PROXY}


async def _delivered(receiver, count):
    return len(receiver.received) >= count


async def test_yes_in_a_conversation_is_an_answer_not_a_keyword(gateway):
    community = await gateway.community()
    await gateway.conversation(community["id"])
    await gateway.sms(ALEX, PROXY, "Does Saturday at 10 work?")
    await gateway.delivered_to(PAT)
    for answer in ("Yes!", "start"):
        await gateway.sms(PAT, PROXY, answer)
    bodies = await gateway.delivered_to(ALEX, 3)
    assert bodies[1:] == ["Yes!", "start"]  # relayed, no confirmation to Pat
    assert gateway.carrier.bodies_to(PAT) == ["Does Saturday at 10 work?"]
    # Once Pat has opted out, YES is the way back in.
    await gateway.sms(PAT, PROXY, "STOP")
    await gateway.sms(PAT, PROXY, "yes")
    # (both confirmations may be in flight at once: the tests' numbers send 1000 a second)
    assert set((await gateway.delivered_to(PAT, 3))[1:]) == {
        UNSUBSCRIBED, "You're resubscribed to Acme Housing. Reply STOP to opt out."}


async def test_join_from_someone_without_a_conversation_opts_in(gateway, db):
    await gateway.community()
    await gateway.sms(SAM, PROXY, "JOIN")
    assert await gateway.delivered_to(SAM) == ["You're subscribed to Acme Housing. Reply STOP to opt out."]
    assert await db.fetchval("SELECT preference FROM contacts WHERE phone = $1", SAM) == "opted_in"

"""Writing into a group text or a one-to-group conversation from the API (POST /v1/conversations/{id}/messages as
a participant), and conversation.claimed: driven as the platform (API) and phones (signed webhooks) do."""

import asyncio
import json

from gateway.relay import rules as relay
from gateway.relay import segments
from tests.helpers import ALEX, PAT, PROXY, SAM, wait_for
from tests.test_groups import KIM, LEE, open_group, open_team


def _path(phone: str) -> str:
    return phone.replace("+", "%2B")


async def write(gateway, conversation_id, sender, body):
    return await gateway.call("POST", f"/v1/conversations/{conversation_id}/messages", {"from": sender, "body": body})


async def _events(receiver, kind, count=1):
    async def found():
        events = [json.loads(hook["body"]) for hook in receiver.received]
        events = [e["data"] for e in events if e["type"] == kind]
        return events if len(events) >= count else None

    return await wait_for(found, what=kind)


async def test_the_platform_writes_into_a_group_as_a_participant(gateway, hook_receiver):
    community = await gateway.community(event_url=hook_receiver.url)
    group = await open_group(gateway, community["id"])
    await gateway.delivered_to(SAM)
    status, body = await write(gateway, group["id"], PAT, "Booked for 7")
    assert status == 201, body
    # Read back after queueing: the drainer may have claimed a copy meanwhile (submitting, or further on).
    assert [(c["to"], c["body"], c["kind"]) for c in body["copies"]] == [
        (ALEX, "Pat: Booked for 7", "relay"), (SAM, "Pat: Booked for 7", "relay")]
    assert all(c["status"] in ("queued", "submitting", "accepted", "sent", "delivered") for c in body["copies"])
    assert (body["id"], body["to"], body["from"]) == (body["copies"][0]["id"], ALEX, PROXY)
    assert (await gateway.delivered_to(ALEX, 2))[1] == "Pat: Booked for 7"
    assert (await gateway.delivered_to(SAM, 2))[1] == "Pat: Booked for 7"
    await asyncio.sleep(0.2)
    assert len(gateway.carrier.bodies_to(PAT)) == 1  # the writer gets nothing back, as after their own SMS
    relayed = await _events(hook_receiver, "message.relayed", 2)
    assert sorted((e["to"], e["body"], e["inbound_message_id"], e["status"]) for e in relayed) == [
        (ALEX, "Pat: Booked for 7", None, "queued"), (SAM, "Pat: Booked for 7", None, "queued")]

    # The answer then reads as an SMS from Pat would: the last relayed conversation is this one for each.
    await gateway.sms(SAM, PROXY, "Great")
    assert (await gateway.delivered_to(PAT, 2))[1] == "Sam: Great"


async def test_a_team_is_written_into_as_the_customer_or_a_member(gateway):
    community = await gateway.community()
    team = await open_team(gateway, community["id"])
    await gateway.delivered_to(SAM)
    status, body = await write(gateway, team["id"], "customer", "Still free?")
    assert status == 201 and [c["to"] for c in body["copies"]] == [ALEX, SAM], body
    assert (await gateway.delivered_to(ALEX, 2))[1] == "Pat: Still free?"
    # A member: the customer gets the text as is, the other members who answered whom. National form works too.
    status, body = await write(gateway, team["id"], "(415) 555-2672", "Yes, it is")
    assert status == 201, body
    assert await gateway.delivered_to(PAT) == ["Yes, it is"]
    assert (await gateway.delivered_to(SAM, 3))[2] == "Alex to Pat: Yes, it is"


async def test_a_member_writing_into_an_unclaimed_claim_conversation_takes_it(gateway, hook_receiver):
    community = await gateway.community(event_url=hook_receiver.url)
    status, team = await gateway.call("POST", "/v1/team-conversations", {
        "community_id": community["id"], "customer": {"phone": PAT, "name": "Pat"}, "style": "claim",
        "members": [{"phone": ALEX, "name": "Alex"}, {"phone": SAM, "name": "Sam"}], "message": "Sink leaks"})
    assert status == 201, team
    await gateway.delivered_to(SAM)
    status, body = await write(gateway, team["id"], ALEX, "I can come at 5")
    assert status == 201, body
    # The answer reads the copies back after queueing them: one the drainer sent meanwhile reads as sent, with the
    # sender identification of the first text to Pat (begin_send stores what was really sent).
    assert [(c["to"], c["body"]) for c in body["copies"]] in (
        [(PAT, "I can come at 5"), (SAM, "Alex took this conversation.")],
        [(PAT, "Acme Housing: I can come at 5 Reply STOP to opt out."), (SAM, "Alex took this conversation.")])
    found = (await gateway.call("GET", f"/v1/conversations/{team['id']}"))[1]
    assert found["claimed_by"] == ALEX
    [claimed] = await _events(hook_receiver, "conversation.claimed")
    assert claimed == {"community_id": community["id"], "conversation_id": team["id"], "phone": ALEX, "name": "Alex"}

    status, body = await write(gateway, team["id"], SAM, "On it")  # Sam's SMS would be told Alex has it
    assert status == 409 and body["error"]["code"] == "conversation_taken", body
    status, body = await write(gateway, team["id"], "customer", "Thanks")
    assert status == 201 and [c["to"] for c in body["copies"]] == [ALEX], body
    await gateway.delivered_to(ALEX, 2)
    await asyncio.sleep(0.2)
    assert len(gateway.carrier.bodies_to(SAM)) == 2 and len(gateway.carrier.bodies_to(PAT)) == 1


async def test_a_claim_by_sms_is_an_event_too(gateway, hook_receiver):
    community = await gateway.community(event_url=hook_receiver.url)
    status, team = await gateway.call("POST", "/v1/team-conversations", {
        "community_id": community["id"], "customer": {"phone": PAT}, "style": "claim",
        "members": [{"phone": ALEX, "name": "Alex"}, {"phone": SAM, "name": "Sam"}], "message": "Sink leaks"})
    assert status == 201, team
    await gateway.delivered_to(SAM)
    await gateway.sms(SAM, PROXY, "Mine")
    await gateway.sms(ALEX, PROXY, "Or mine?")
    await gateway.delivered_to(ALEX, 3)
    await asyncio.sleep(0.3)
    claims = await _events(hook_receiver, "conversation.claimed")
    assert claims == [{"community_id": community["id"], "conversation_id": team["id"], "phone": SAM, "name": "Sam"}]


async def test_who_may_write_and_what_is_refused(gateway, db):
    community = await gateway.community()
    group = await open_group(gateway, community["id"])
    pair = await gateway.conversation(community["id"], prospect=(KIM, "Kim"), advocate=(LEE, "Lee"))
    refused = [
        (group["id"], KIM, 409, "not_a_participant"),  # not in the group (in a pair on the number)
        (group["id"], "customer", 409, "not_a_participant"),  # a group has no customer
        (group["id"], "advocate", 409, "conversation_not_a_pair"),  # as before
        (group["id"], "+1555", 422, "invalid_field"),
        (group["id"], "someone", 422, "invalid_field"),
        (pair["id"], PAT, 409, "not_a_participant"),
        (pair["id"], "customer", 409, "not_a_participant"),
    ]
    for conversation_id, sender, status, code in refused:
        answer = await write(gateway, conversation_id, sender, "hello")
        assert answer[0] == status and answer[1]["error"]["code"] == code, (sender, answer)
    status, body = await gateway.call("DELETE", f"/v1/conversations/{group['id']}/members/{_path(SAM)}")
    assert status == 200, body
    status, body = await write(gateway, group["id"], SAM, "still here?")  # a removed member is not a participant
    assert status == 409 and body["error"]["code"] == "not_a_participant"
    assert await db.fetchval("SELECT count(*) FROM messages WHERE body LIKE '%hello%' OR body LIKE '%still%'") == 0

    # A pair's participant by phone writes as their role, as before: the answer is the one message, no copies.
    status, body = await write(gateway, pair["id"], LEE, "See you")
    assert status == 201 and body["to"] == KIM and body["body"] == "See you" and "copies" not in body, body


async def test_message_too_long_counts_the_longest_label_and_code(gateway):
    community = await gateway.community(name="Acme")
    team = await open_team(gateway, community["id"])
    identification = relay.identification_cost("{sender name}: {message} Reply STOP to opt out.", "Acme")
    # The longest copy is another member's, "#K3 Alex to Pat: ...", whatever the recipients' codes are now.
    room = relay.room(segments.length(f"#{team['code']} Alex to Pat: "), identification)
    status, body = await write(gateway, team["id"], ALEX, "x" * (room + 1))
    assert status == 422 and body["error"]["code"] == "message_too_long" and body["error"]["max_length"] == room
    status, body = await write(gateway, team["id"], ALEX, "x" * room)
    assert status == 201 and len(body["copies"]) == 2, body


async def test_each_copy_is_checked_for_its_recipient(gateway):
    community = await gateway.community()
    group = await open_group(gateway, community["id"])
    await gateway.delivered_to(SAM)
    await gateway.sms(SAM, PROXY, "STOP")  # Sam leaves the group with STOP
    await gateway.delivered_to(ALEX, 2)
    status, body = await gateway.call("POST", f"/v1/conversations/{group['id']}/members", {"phone": KIM, "name": "Kim"})
    assert status == 201, body
    await gateway.delivered_to(KIM)
    await gateway.sms(KIM, PROXY, "STOP")  # opts out; leaves
    status, body = await gateway.call("POST", f"/v1/conversations/{group['id']}/members", {"phone": KIM, "name": "Kim"})
    assert status == 201, body  # added again, still opted out: their added text is blocked
    status, body = await write(gateway, group["id"], ALEX, "Who's in?")
    assert status == 201, body
    # The answer reads each copy back after queueing it: a drainer may have begun Pat's already.
    assert [(c["to"], c["status"] == "blocked", c["status_reason"]) for c in body["copies"]] == [
        (PAT, False, None), (KIM, True, "opted_out")]
    assert "Alex: Who's in?" in await gateway.delivered_to(PAT, 4)  # in any order: four texts went to Pat


async def test_writing_into_a_team_through_the_sandbox_with_codes(start_gateway):
    from tests.test_groups_platform import _has

    gateway = await start_gateway(kind="sandbox")
    community = await gateway.community()
    await open_group(gateway, community["id"])  # Alex and Sam are in a group on the number too: codes show
    team = await open_team(gateway, community["id"], customer={"phone": KIM, "name": "Kim"})
    status, body = await write(gateway, team["id"], "customer", "Thanks!")
    assert status == 201 and [c["to"] for c in body["copies"]] == [ALEX, SAM], body
    for phone in (ALEX, SAM):
        await wait_for(lambda: _has(gateway, phone, f"#{team['code']} Kim: Thanks!"), what="a member's screen")
    status, body = await write(gateway, team["id"], SAM, "You're welcome")
    assert status == 201, body
    await wait_for(lambda: _has(gateway, KIM, "You're welcome"), what="the customer's screen")
    await wait_for(lambda: _has(gateway, ALEX, f"#{team['code']} Sam to Kim: You're welcome"), what="Alex's screen")


async def test_a_claim_written_through_the_api_while_valkey_is_down(start_gateway, clean, own_redis, db):
    from tests.test_groups_routing import _in_step
    from tests.test_routing_generation import _kill, _own

    [gateway], client = await _own(start_gateway, clean, own_redis)
    community = await gateway.community()
    status, team = await gateway.call("POST", "/v1/team-conversations", {
        "community_id": community["id"], "customer": {"phone": PAT, "name": "Pat"}, "style": "claim",
        "members": [{"phone": ALEX, "name": "Alex"}, {"phone": SAM, "name": "Sam"}], "message": "Sink leaks"})
    assert status == 201, team
    await gateway.delivered_to(SAM)
    await gateway.delivered_to(ALEX)  # before the kill: else swept after it, it may come after Pat's "Thanks"

    _kill(own_redis)
    status, body = await write(gateway, team["id"], ALEX, "On my way")  # routed and claimed from Postgres
    assert status == 201 and [c["to"] for c in body["copies"]] == [PAT, SAM], body
    own_redis.start_redis()
    await wait_for(lambda: _in_step(client, db), timeout=15, what="table in step with Postgres")
    assert await gateway.delivered_to(PAT, timeout=10) == ["On my way"]  # queued in Postgres, swept once back
    assert (await gateway.delivered_to(SAM, 2, timeout=10))[1] == "Alex took this conversation."
    await gateway.sms(PAT, PROXY, "Thanks")  # the routes say Alex has it: only Alex
    assert (await gateway.delivered_to(ALEX, 2, timeout=10))[1] == "Pat: Thanks"
    await asyncio.sleep(0.3)
    assert len(gateway.carrier.bodies_to(SAM)) == 2
    await client.aclose()


async def test_in_test_mode_a_copy_to_a_phone_off_the_allow_list_is_blocked_and_limits_count_each_copy(
        start_gateway, db):
    gateway = await start_gateway(relay={"per_number_rate": 20.0})
    # Three intros (Sam's blocked: not on the allow list), then two copies of one text: Alex's goes, Sam's is
    # blocked; with a daily limit of 2, Pat's and Alex's intros use it up, so Alex's copy is held for the limit.
    community = await gateway.community(mode="test", daily_limit_levels=[2], daily_limit_ceiling=10)
    status, body = await gateway.call("POST", f"/v1/communities/{community['id']}/allow-list",
                                      {"numbers": [PAT, ALEX]})
    assert status in (200, 201), body
    group = await open_group(gateway, community["id"])
    await gateway.delivered_to(ALEX)
    status, body = await write(gateway, group["id"], PAT, "Booked")
    assert status == 201, body
    # Read back after queueing: Alex's copy may be queued, begun or held for the limit by now; Sam's never goes.
    assert [(c["to"], c["status"] == "blocked") for c in body["copies"]] == [(ALEX, False), (SAM, True)]
    assert body["copies"][1]["status_reason"] == "not_on_allow_list"

    async def held():
        return await db.fetchval("SELECT status_reason FROM messages WHERE id = $1 AND status = 'held'",
                                 body["copies"][0]["id"])

    assert await wait_for(held, what="the copy held for the daily limit") == "daily_limit"

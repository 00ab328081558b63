"""Group texts and one-to-group conversations end to end: the API as the platform calls it, the carrier's signed
webhooks as phones text, the fake Twilio as what phones receive (issue 13)."""

import asyncio
import json

from gateway.routing.table import route_key
from tests.helpers import ALEX, PAT, PROXY, SAM, wait_for

KIM = "+14155552674"
LEE = "+14155552675"


async def open_group(gateway, community_id, people=((PAT, "Pat"), (ALEX, "Alex"), (SAM, "Sam")),
                     message="Dinner Friday?") -> dict:
    status, body = await gateway.call("POST", "/v1/groups", {
        "community_id": community_id, "participants": [{"phone": p, "name": n} for p, n in people],
        "message": message})
    assert status == 201, body
    return body


async def open_team(gateway, community_id, customer=None, members=((ALEX, "Alex"), (SAM, "Sam")),
                    message="Is the flat still free?") -> dict:
    status, body = await gateway.call("POST", "/v1/team-conversations", {
        "community_id": community_id, "customer": customer or {"phone": PAT, "name": "Pat"},
        "members": [{"phone": p, "name": n} for p, n in members], "message": message})
    assert status == 201, body
    return body


async def test_a_group_text_reaches_everyone_else_with_the_senders_name(gateway):
    community = await gateway.community()
    group = await open_group(gateway, community["id"])
    assert group["shape"] == "group" and group["proxy_number"] == PROXY and len(group["notifications"]) == 3
    assert [(p["phone"], p["role"], p["active"]) for p in group["participants"]] == [
        (PAT, "member", True), (ALEX, "member", True), (SAM, "member", True)]
    assert await gateway.delivered_to(SAM) == [
        "Acme Housing group text with Pat, Alex: Dinner Friday? (Replies go to everyone in the group.)"]

    await gateway.sms(PAT, PROXY, "I'm in")
    assert (await gateway.delivered_to(ALEX, 2))[1] == "Pat: I'm in"
    assert (await gateway.delivered_to(SAM, 2))[1] == "Pat: I'm in"
    await gateway.sms(SAM, PROXY, "Me too")
    assert (await gateway.delivered_to(PAT, 2))[1] == "Sam: Me too"
    assert (await gateway.delivered_to(ALEX, 3))[2] == "Sam: Me too"
    await asyncio.sleep(0.2)
    assert len(gateway.carrier.bodies_to(PAT)) == 2  # nobody gets their own text back
    assert {m["From"] for m in gateway.carrier.sent} == {PROXY}
    assert all(phone not in m["Body"] for m in gateway.carrier.sent for phone in (PAT, ALEX, SAM))

    # Stored once, copied once per recipient: each copy its own message.
    messages = await gateway.messages(group["id"])
    inbound = [m for m in messages if m["direction"] == "inbound"]
    assert [m["body"] for m in inbound] == ["I'm in", "Me too"]
    relayed = [(m["to"], m["body"]) for m in messages if m["kind"] == "relay"]
    assert relayed == [(ALEX, "Pat: I'm in"), (SAM, "Pat: I'm in"), (PAT, "Sam: Me too"), (ALEX, "Sam: Me too")]


async def test_a_one_to_group_conversation_labels_who_answered_whom(gateway):
    community = await gateway.community()
    team = await open_team(gateway, community["id"])
    assert team["shape"] == "one_to_group"
    assert [(p["phone"], p["role"]) for p in team["participants"]] == [
        (PAT, "customer"), (ALEX, "member"), (SAM, "member")]
    assert (await gateway.delivered_to(ALEX))[0].startswith("Pat via Acme Housing: Is the flat still free?")
    assert (await gateway.delivered_to(SAM))[0].startswith("Pat via Acme Housing: Is the flat still free?")

    await gateway.sms(ALEX, PROXY, "Yes, it is")
    assert await gateway.delivered_to(PAT) == ["Yes, it is"]  # the customer gets the answer as is
    assert (await gateway.delivered_to(SAM, 2))[1] == "Alex to Pat: Yes, it is"
    await gateway.sms(PAT, PROXY, "Can I see it Monday?")
    assert (await gateway.delivered_to(ALEX, 2))[1] == "Pat: Can I see it Monday?"
    assert (await gateway.delivered_to(SAM, 3))[2] == "Pat: Can I see it Monday?"


async def test_a_customer_without_a_name_is_shown_masked(gateway):
    community = await gateway.community()
    team = await open_team(gateway, community["id"], customer={"phone": PAT}, members=((ALEX, "Alex"),))
    assert team["participants"][0]["name"] == "+1415***2671"
    await gateway.sms(PAT, PROXY, "Hello?")
    assert "+1415***2671: Hello?" in await gateway.delivered_to(ALEX, 2)  # the notification may land after it


async def test_a_phone_in_two_groups_on_one_number_is_told_apart_by_codes(gateway):
    community = await gateway.community()
    first = await open_group(gateway, community["id"])
    second = await open_group(gateway, community["id"], people=((ALEX, "Alex"), (KIM, "Kim"), (LEE, "Lee")))
    assert second["proxy_number"] == PROXY
    await gateway.delivered_to(ALEX, 2)

    await gateway.sms(PAT, PROXY, "first group here")
    assert (await gateway.delivered_to(ALEX, 3))[2] == f"#{first['code']} Pat: first group here"
    assert (await gateway.delivered_to(SAM, 2))[1] == "Pat: first group here"
    await gateway.sms(ALEX, PROXY, f"#{second['code']} only the second")
    assert (await gateway.delivered_to(KIM, 2))[1] == "Alex: only the second"
    assert (await gateway.delivered_to(LEE, 2))[1] == "Alex: only the second"
    await asyncio.sleep(0.2)
    assert len(gateway.carrier.bodies_to(PAT)) == 1 and len(gateway.carrier.bodies_to(SAM)) == 2


async def test_a_member_added_mid_conversation_gets_what_follows(gateway, hook_receiver):
    community = await gateway.community(event_url=hook_receiver.url)
    team = await open_team(gateway, community["id"], members=((ALEX, "Alex"),))
    status, body = await gateway.call("POST", f"/v1/conversations/{team['id']}/members",
                                      {"phone": SAM, "name": "Sam"})
    assert status == 201, body
    assert [(p["phone"], p["active"]) for p in body["participants"]] == [(PAT, True), (ALEX, True), (SAM, True)]
    assert await gateway.delivered_to(SAM) == [
        "Acme Housing: you were added to a conversation with Pat, Alex. Reply to this number to text them."]
    await gateway.sms(PAT, PROXY, "Anyone?")
    assert (await gateway.delivered_to(SAM, 2))[1] == "Pat: Anyone?"
    status, body = await gateway.call("POST", f"/v1/conversations/{team['id']}/members",
                                      {"phone": SAM, "name": "Sam"})
    assert status == 409 and body["error"]["code"] == "already_a_member"

    async def added():
        events = [json.loads(hook["body"]) for hook in hook_receiver.received]
        return [e for e in events if e["type"] == "conversation.participant_added"]

    [event] = await wait_for(added, what="conversation.participant_added")
    assert event["data"] == {"community_id": community["id"], "conversation_id": team["id"], "phone": SAM,
                             "name": "Sam", "role": "member"}


async def test_a_member_removed_mid_conversation_gets_nothing_more(gateway, redis_client):
    community = await gateway.community()
    group = await open_group(gateway, community["id"],
                             people=((PAT, "Pat"), (ALEX, "Alex"), (SAM, "Sam"), (KIM, "Kim")))
    await gateway.sms(PAT, PROXY, "before")
    await gateway.delivered_to(SAM, 2)
    status, body = await gateway.call("DELETE", f"/v1/conversations/{group['id']}/members/{SAM.replace('+', '%2B')}")
    assert status == 200, body
    assert [p["active"] for p in body["participants"]] == [True, True, False, True] and body["status"] == "open"
    assert await redis_client.hkeys(route_key(PROXY, SAM)) == []

    await gateway.sms(PAT, PROXY, "after")
    assert (await gateway.delivered_to(KIM, 3))[2] == "Pat: after"
    assert (await gateway.delivered_to(ALEX, 3))[2] == "Pat: after"
    await gateway.sms(SAM, PROXY, "still here?")  # the removed member is a stranger on this number now
    assert (await gateway.delivered_to(SAM, 3))[2] == "This number only relays active conversations."
    await asyncio.sleep(0.2)
    assert "after" not in " ".join(gateway.carrier.bodies_to(SAM))
    assert not [b for b in gateway.carrier.bodies_to(PAT) if "still here" in b]
    status, body = await gateway.call("DELETE", f"/v1/conversations/{group['id']}/members/{SAM.replace('+', '%2B')}")
    assert status == 404 and body["error"]["code"] == "member_not_found"


async def test_stop_from_a_group_member_leaves_the_group_and_the_last_two_end_it(gateway, db):
    community = await gateway.community()
    group = await open_group(gateway, community["id"])
    await gateway.delivered_to(SAM)
    await gateway.sms(SAM, PROXY, "STOP")
    # The others are told someone left, never who.
    assert (await gateway.delivered_to(PAT, 2))[1] == "Someone left the group."
    assert (await gateway.delivered_to(ALEX, 2))[1] == "Someone left the group."
    found = (await gateway.call("GET", f"/v1/conversations/{group['id']}"))[1]
    assert [p["active"] for p in found["participants"]] == [True, True, False] and found["status"] == "open"
    assert await db.fetchval("SELECT preference FROM contacts WHERE phone = $1", SAM) == "opted_out"

    await gateway.sms(PAT, PROXY, "just us")
    assert (await gateway.delivered_to(ALEX, 3))[2] == "Pat: just us"
    await gateway.sms(ALEX, PROXY, "STOP")
    assert (await gateway.delivered_to(PAT, 3))[2] == "Someone left the group."
    found = (await gateway.call("GET", f"/v1/conversations/{group['id']}"))[1]
    assert (found["status"], found["closed_reason"]) == ("closed", "too_few")
    await asyncio.sleep(0.2)
    # SAM got the STOP confirmation and nothing after it.
    assert [b for b in gateway.carrier.bodies_to(SAM) if "just us" in b or "Someone" in b] == []


async def test_the_daily_limit_counts_every_copy(start_gateway, db):
    gateway = await start_gateway(relay={"per_number_rate": 20.0})
    # Three intros and one fan-out of two copies: five sends against a limit of four.
    community = await gateway.community(daily_limit_levels=[4], daily_limit_ceiling=10)
    group = await open_group(gateway, community["id"])
    await gateway.sms(PAT, PROXY, "who's coming?")

    async def settled():
        rows = await db.fetch("SELECT status, status_reason FROM messages WHERE direction = 'outbound' "
                              "AND conversation_id = $1", group["id"])
        return rows if len(rows) == 5 and all(r["status"] in ("accepted", "held") for r in rows) else None

    rows = await wait_for(settled, what="sent or held")
    assert sorted((r["status"], r["status_reason"]) for r in rows) == [("accepted", None)] * 4 + [
        ("held", "daily_limit")]


async def test_a_copy_to_an_opted_out_recipient_is_blocked_and_the_others_go(gateway):
    community = await gateway.community()
    team = await open_team(gateway, community["id"])
    await gateway.delivered_to(SAM)
    # The customer opts out (and stays the conversation's customer: only members leave with STOP).
    await gateway.sms(PAT, PROXY, "STOP")
    await gateway.delivered_to(PAT)
    await gateway.sms(ALEX, PROXY, "Sorry to hear that")
    assert (await gateway.delivered_to(SAM, 2))[1] == "Alex to Pat: Sorry to hear that"
    copies = [(m["to"], m["status"], m["status_reason"]) for m in await gateway.messages(team["id"])
              if m["kind"] == "relay"]
    assert [to for to, _, _ in copies] == [PAT, SAM] and copies[0] == (PAT, "blocked", "opted_out")
    assert len(gateway.carrier.bodies_to(PAT)) == 1  # the STOP confirmation only


async def test_the_api_refuses_what_a_group_cannot_be(gateway):
    community = await gateway.community()
    pair = await gateway.conversation(community["id"])
    status, body = await gateway.call("POST", f"/v1/conversations/{pair['id']}/members", {"phone": SAM, "name": "S"})
    assert status == 409 and body["error"]["code"] == "conversation_not_a_group"
    status, body = await gateway.call("POST", "/v1/groups", {
        "community_id": community["id"], "message": "hi",
        "participants": [{"phone": PAT, "name": "Pat"}, {"phone": ALEX, "name": "Alex"}]})
    assert status == 422 and body["error"]["code"] == "invalid_field"
    status, body = await gateway.call("POST", "/v1/groups", {
        "community_id": community["id"], "message": "hi",
        "participants": [{"phone": PAT, "name": "Pat"}, {"phone": ALEX, "name": "Alex"}, {"phone": PAT, "name": "P"}]})
    assert status == 422 and body["error"]["code"] == "same_participant"
    status, body = await gateway.call("POST", "/v1/groups", {
        "community_id": community["id"], "message": "hi",
        "participants": [{"phone": PAT, "name": "Pat"}, {"phone": ALEX, "name": "Alex"}, {"phone": PROXY, "name": "X"}]})
    assert status == 422 and body["error"]["code"] == "participant_is_proxy"
    group = await open_group(gateway, community["id"], people=((SAM, "Sam"), (KIM, "Kim"), (LEE, "Lee")))
    status, body = await gateway.call("POST", f"/v1/conversations/{group['id']}/messages",
                                      {"from": "prospect", "body": "hi"})
    assert status == 409 and body["error"]["code"] == "conversation_not_a_pair"
    assert await gateway.pool.fetchval("SELECT count(*) FROM conversations") == 2  # nothing half-stored


async def test_a_team_has_at_most_max_members(start_gateway):
    gateway = await start_gateway(groups={"max_members": 2})
    community = await gateway.community()
    status, body = await gateway.call("POST", "/v1/team-conversations", {
        "community_id": community["id"], "customer": {"phone": PAT, "name": "Pat"}, "message": "hi",
        "members": [{"phone": p, "name": "M"} for p in (ALEX, SAM, KIM)]})
    assert status == 422 and body["error"]["code"] == "too_many_members"
    team = await open_team(gateway, community["id"])
    status, body = await gateway.call("POST", f"/v1/conversations/{team['id']}/members", {"phone": KIM, "name": "K"})
    assert status == 409 and body["error"]["code"] == "conversation_full"


async def test_in_claim_style_the_first_member_to_reply_takes_the_conversation(gateway, db):
    community = await gateway.community()
    status, team = await gateway.call("POST", "/v1/team-conversations", {
        "community_id": community["id"], "customer": {"phone": PAT, "name": "Pat"}, "style": "claim",
        "members": [{"phone": p, "name": n} for p, n in ((ALEX, "Alex"), (SAM, "Sam"), (KIM, "Kim"))],
        "message": "Who can fix my sink?"})
    assert status == 201 and (team["team_style"], team["claimed_by"]) == ("claim", None)
    await gateway.sms(PAT, PROXY, "It's leaking")  # before anyone takes it: every member
    for member in (ALEX, SAM, KIM):
        # In either order: a notification retried after a connection error arrives after the relayed text.
        assert "Pat: It's leaking" in await gateway.delivered_to(member, 2)

    # Two members answer at once: one takes it, the other is told who has it.
    await asyncio.gather(gateway.sms(ALEX, PROXY, "I can come at 5"), gateway.sms(SAM, PROXY, "On it"))
    found = (await gateway.call("GET", f"/v1/conversations/{team['id']}"))[1]
    winner, loser = (ALEX, SAM) if found["claimed_by"] == ALEX else (SAM, ALEX)
    names = {ALEX: "Alex", SAM: "Sam"}
    answer = {ALEX: "I can come at 5", SAM: "On it"}
    assert await gateway.delivered_to(PAT) == [answer[winner]]  # the loser's text never reaches the customer
    assert (await gateway.delivered_to(loser, 3))[2] in (f"{names[winner]} took this conversation.",
                                                         f"Your text was not sent: {names[winner]} took this conversation.")
    assert (await gateway.delivered_to(KIM, 3))[2] == f"{names[winner]} took this conversation."

    await gateway.sms(PAT, PROXY, "Thanks!")  # after: only the member who took it
    assert (await gateway.delivered_to(winner, 3))[2] == "Pat: Thanks!"
    await gateway.sms(KIM, PROXY, "Need help?")
    assert (await gateway.delivered_to(KIM, 4))[3] == f"Your text was not sent: {names[winner]} took this conversation."
    await asyncio.sleep(0.3)
    assert len(gateway.carrier.bodies_to(PAT)) == 1 and len(gateway.carrier.bodies_to(KIM)) == 4
    assert not [b for b in gateway.carrier.bodies_to(loser) if "Thanks" in b]
    kinds = await db.fetch("SELECT kind, count(*) FROM messages WHERE to_number = $1 AND conversation_id = $2 "
                           "GROUP BY kind ORDER BY kind", KIM, team["id"])
    assert [(r["kind"], r["count"]) for r in kinds] == [("help", 1), ("notification", 1), ("relay", 2)]


async def test_the_list_finds_a_group_by_any_members_phone(gateway):
    community = await gateway.community()
    group = await open_group(gateway, community["id"])
    pair = await gateway.conversation(community["id"], prospect=(KIM, "Kim"), advocate=(SAM, "Sam"))
    status, body = await gateway.call("GET", "/v1/conversations?phone=%2B" + SAM[1:])
    assert status == 200 and [c["id"] for c in body["conversations"]] == [pair["id"], group["id"]]
    assert body["conversations"][1]["shape"] == "group"

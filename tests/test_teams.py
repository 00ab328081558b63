"""Dedicated numbers, team inboxes and texts from strangers end to end: the API as the platform calls it, the
carrier's signed webhooks as phones text, the fake Twilio as what phones receive (issue 13, part 2)."""

import asyncio
import json

from tests.fakes import unwrap
from tests.helpers import ALEX, PAT, PROXY, PROXY_2, PROXY_3, SAM, wait_for
from tests.test_groups import KIM, LEE

ASSIGN = "/v1/communities/{}/numbers/%2B{}"


async def make_team(gateway, community_id, members=((ALEX, "Alex"), (SAM, "Sam")), style="everyone",
                    name="Lettings") -> dict:
    status, body = await gateway.call("POST", f"/v1/communities/{community_id}/teams", {
        "name": name, "style": style, "members": [{"phone": p, "name": n} for p, n in members]})
    assert status == 201, body
    return body


async def assign(gateway, community_id, number, body) -> dict:
    status, answer = await gateway.call("PATCH", ASSIGN.format(community_id, number[1:]), body)
    assert status == 200, answer
    return answer


async def conversations_of(gateway, phone) -> list[dict]:
    status, body = await gateway.call("GET", "/v1/conversations?phone=%2B" + phone[1:])
    assert status == 200, body
    return body["conversations"]


async def test_a_team_is_managed_through_the_api(gateway):
    community = await gateway.community(numbers=(PROXY, PROXY_2))
    cid = community["id"]
    team = await make_team(gateway, cid, style="claim")
    assert (team["name"], team["style"], team["numbers"]) == ("Lettings", "claim", [])
    assert team["members"] == [{"phone": ALEX, "name": "Alex"}, {"phone": SAM, "name": "Sam"}]
    path = f"/v1/communities/{cid}/teams/{team['id']}"

    status, body = await gateway.call("PATCH", path, {"name": "Front desk", "style": "everyone"})
    assert status == 200 and (body["name"], body["style"]) == ("Front desk", "everyone"), body
    status, body = await gateway.call("POST", path + "/members", {"phone": KIM, "name": "Kim"})
    assert status == 201 and [m["name"] for m in body["members"]] == ["Alex", "Sam", "Kim"], body
    status, body = await gateway.call("POST", path + "/members", {"phone": KIM, "name": "Kim"})
    assert status == 409 and body["error"]["code"] == "already_a_member"
    status, body = await gateway.call("DELETE", path + f"/members/%2B{SAM[1:]}")
    assert status == 200 and [m["name"] for m in body["members"]] == ["Alex", "Kim"], body
    status, body = await gateway.call("DELETE", path + f"/members/%2B{SAM[1:]}")
    assert status == 404 and body["error"]["code"] == "member_not_found"
    status, body = await gateway.call("POST", path + "/members", {"phone": PROXY_2, "name": "Loop"})
    assert status == 422 and body["error"]["code"] == "participant_is_proxy"

    assert (await assign(gateway, cid, PROXY, {"team_id": team["id"]}))["team_id"] == team["id"]
    status, body = await gateway.call("GET", path)
    assert status == 200 and body["numbers"] == [PROXY]
    status, body = await gateway.call("DELETE", path)
    assert status == 409 and body["error"]["code"] == "team_has_numbers", body  # it would reach nobody
    await assign(gateway, cid, PROXY, {})
    status, _ = await gateway.call("DELETE", path)
    assert status == 204
    status, body = await gateway.call("GET", path)
    assert status == 404 and body["error"]["code"] == "team_not_found"
    status, body = await gateway.call("GET", f"/v1/communities/{cid}/teams")
    assert status == 200 and body == {"teams": []}


async def test_numbers_are_assigned_to_a_member_a_team_or_nothing(gateway):
    community = await gateway.community(numbers=(PROXY, PROXY_2))
    other = await gateway.community(numbers=("+14155550109",), name="Other")
    cid = community["id"]
    team = await make_team(gateway, cid)
    foreign = await make_team(gateway, other["id"])

    assert await assign(gateway, cid, PROXY, {"member": {"phone": KIM, "name": "Kim"}}) == {
        "phone": PROXY, "member": {"phone": KIM, "name": "Kim"}, "team_id": None, "category": None}
    assert await assign(gateway, cid, PROXY_2, {"team_id": team["id"]}) == {
        "phone": PROXY_2, "member": None, "team_id": team["id"], "category": None}
    status, body = await gateway.call("GET", f"/v1/communities/{cid}/numbers")
    assert status == 200 and [n["phone"] for n in body["numbers"]] == [PROXY, PROXY_2], body
    # The body is the whole assignment: a team replaces the member.
    assert (await assign(gateway, cid, PROXY, {"team_id": team["id"]}))["member"] is None

    refused = [
        ({"member": {"phone": KIM, "name": "Kim"}, "team_id": team["id"]}, PROXY, 422, "invalid_field"),
        ({"team_id": foreign["id"]}, PROXY, 404, "team_not_found"),
        ({}, "+14155550109", 404, "number_not_found"),
        ({"member": {"phone": PROXY_2, "name": "Loop"}}, PROXY, 422, "participant_is_proxy"),
    ]
    for body, number, status, code in refused:
        got, answer = await gateway.call("PATCH", ASSIGN.format(cid, number[1:]), body)
        assert (got, answer["error"]["code"]) == (status, code), answer
    assert (await assign(gateway, cid, PROXY, {"member": None, "team_id": None})) == {
        "phone": PROXY, "member": None, "team_id": None, "category": None}


async def test_a_stranger_reaches_the_dedicated_member_masked_both_ways(gateway, db):
    community = await gateway.community(numbers=(PROXY, PROXY_2), event_url="https://platform.example/events")
    await assign(gateway, community["id"], PROXY, {"member": {"phone": ALEX, "name": "Alex"}})

    await gateway.sms(SAM, PROXY, "Is the flat still free?")
    assert await gateway.delivered_to(ALEX) == ["+1415***2673: Is the flat still free?"]
    [opened] = await conversations_of(gateway, SAM)
    assert (opened["shape"], opened["proxy_number"], opened["prospect"]["phone"], opened["advocate"]["phone"]) == (
        "pair", PROXY, SAM, ALEX)
    await gateway.sms(ALEX, PROXY, "Yes, it is")
    assert await gateway.delivered_to(SAM) == ["Yes, it is"]
    await gateway.sms(SAM, PROXY, "Great")
    assert (await gateway.delivered_to(ALEX, 2))[1] == "Great"  # after the first, as any pair's text
    assert all(SAM not in m["Body"] for m in gateway.carrier.sent) and {m["From"] for m in gateway.carrier.sent} == {
        PROXY}
    # Stored with the conversation: the first text too, and the event of its opening.
    messages = await gateway.messages(opened["id"])
    assert [m["body"] for m in messages if m["direction"] == "inbound"] == ["Is the flat still free?", "Yes, it is",
                                                                            "Great"]
    events = await db.fetch("SELECT event FROM webhook_deliveries ORDER BY id")
    assert [e["event"] for e in events][:3] == ["conversation.opened", "message.received", "message.relayed"]


async def test_a_stranger_reaches_a_team_everyone_sees_everything(gateway, db):
    community = await gateway.community(event_url="https://platform.example/events")
    team = await make_team(gateway, community["id"])
    await assign(gateway, community["id"], PROXY, {"team_id": team["id"]})

    await gateway.sms(PAT, PROXY, "Who can fix my sink?")
    assert await gateway.delivered_to(ALEX) == ["+1415***2671: Who can fix my sink?"]
    assert await gateway.delivered_to(SAM) == ["+1415***2671: Who can fix my sink?"]
    [opened] = await conversations_of(gateway, PAT)
    assert (opened["shape"], opened["team_style"], opened["team_id"]) == ("one_to_group", "everyone", team["id"])
    event = await db.fetchval("SELECT payload FROM webhook_deliveries WHERE event = 'conversation.opened'")
    assert json.loads(event)["data"]["team_id"] == team["id"]
    assert [(p["phone"], p["role"]) for p in opened["participants"]] == [
        (PAT, "customer"), (ALEX, "member"), (SAM, "member")]
    await gateway.sms(ALEX, PROXY, "I can come at 5")
    assert await gateway.delivered_to(PAT) == ["I can come at 5"]
    assert (await gateway.delivered_to(SAM, 2))[1] == "Alex to +1415***2671: I can come at 5"


async def test_a_stranger_reaches_a_team_the_first_to_reply_takes_it(gateway):
    community = await gateway.community()
    team = await make_team(gateway, community["id"], style="claim")
    await assign(gateway, community["id"], PROXY, {"team_id": team["id"]})

    await gateway.sms(PAT, PROXY, "Who can fix my sink?")
    await gateway.delivered_to(SAM)
    await gateway.sms(SAM, PROXY, "On my way")
    assert await gateway.delivered_to(PAT) == ["On my way"]
    assert (await gateway.delivered_to(ALEX, 2))[1] == "Sam took this conversation."
    [opened] = await conversations_of(gateway, PAT)
    assert opened["claimed_by"] == SAM
    await gateway.sms(PAT, PROXY, "Thanks")
    assert (await gateway.delivered_to(SAM, 2))[1] == "+1415***2671: Thanks"
    await asyncio.sleep(0.2)
    assert len(gateway.carrier.bodies_to(ALEX)) == 2


async def test_two_texts_at_once_from_one_stranger_open_one_conversation(gateway):
    community = await gateway.community()
    team = await make_team(gateway, community["id"])
    await assign(gateway, community["id"], PROXY, {"team_id": team["id"]})
    answers = await asyncio.gather(gateway.sms(PAT, PROXY, "one"), gateway.sms(PAT, PROXY, "two"),
                                   gateway.sms(PAT, PROXY, "one", sid="SMsame"), gateway.sms(PAT, PROXY, "one",
                                                                                           sid="SMsame"))
    assert all(status == 200 for status, _ in answers)
    assert sorted(await gateway.delivered_to(ALEX, 3)) == ["+1415***2671: one", "+1415***2671: one",
                                                            "+1415***2671: two"]
    [opened] = await conversations_of(gateway, PAT)
    assert len([m for m in await gateway.messages(opened["id"]) if m["direction"] == "inbound"]) == 3
    await asyncio.sleep(0.2)
    assert len(gateway.carrier.bodies_to(ALEX)) == 3


async def test_a_member_removed_from_the_team_leaves_its_running_conversation(gateway):
    community = await gateway.community()
    team = await make_team(gateway, community["id"], members=((ALEX, "Alex"), (SAM, "Sam"), (KIM, "Kim")))
    await assign(gateway, community["id"], PROXY, {"team_id": team["id"]})
    await gateway.sms(PAT, PROXY, "Hello?")
    await gateway.delivered_to(SAM)

    status, body = await gateway.call("DELETE", f"/v1/communities/{community['id']}/teams/{team['id']}/members/"
                                                f"%2B{SAM[1:]}")
    assert status == 200, body
    [opened] = await conversations_of(gateway, PAT)
    assert [(p["phone"], p["active"]) for p in opened["participants"]] == [
        (PAT, True), (ALEX, True), (SAM, False), (KIM, True)]
    await gateway.sms(PAT, PROXY, "Anyone?")
    assert (await gateway.delivered_to(KIM, 2))[1] == "+1415***2671: Anyone?"
    await gateway.sms(ALEX, PROXY, "Yes")
    assert (await gateway.delivered_to(KIM, 3))[2] == "Alex to +1415***2671: Yes"
    await asyncio.sleep(0.2)
    assert gateway.carrier.bodies_to(SAM) == ["+1415***2671: Hello?"]
    # Sam is no longer in the team: a text from them is a stranger's, and opens a conversation of the inbox.
    await gateway.sms(SAM, PROXY, "still there?")
    newest, left = await conversations_of(gateway, SAM)
    # Kim is in two conversations on the number now: the code; the community knows Sam's name.
    assert (await gateway.delivered_to(KIM, 4))[3] == f"#{newest['code']} Sam: still there?"
    assert newest["participants"][0] == {"phone": SAM, "name": "Sam", "role": "customer", "active": True}


async def test_a_member_starts_conversations_on_the_numbers_as_spoke_routes_them(gateway):
    community = await gateway.community(numbers=(PROXY, PROXY_2, "+14155550102"))
    cid = community["id"]
    team = await make_team(gateway, cid, members=((SAM, "Sam"), (KIM, "Kim")))
    await assign(gateway, cid, PROXY, {"team_id": team["id"]})
    await assign(gateway, cid, "+14155550102", {"member": {"phone": LEE, "name": "Lee"}})

    def started(number, advocate=(ALEX, "Alex"), prospect=(PAT, "Pat")):
        body = {"community_id": cid, "prospect": {"phone": prospect[0], "name": prospect[1]},
                "advocate": {"phone": advocate[0], "name": advocate[1]}, "message": "About the flat"}
        return gateway.call("POST", "/v1/conversations", body | ({"proxy_number": number} if number else {}))

    # Nothing named: never the team's number or Lee's dedicated one.
    status, pair = await started(None)
    assert status == 201 and (pair["shape"], pair["proxy_number"]) == ("pair", PROXY_2), pair
    # The team's number: the team's inbox conversation, Alex in it; Pat's reply reaches the team.
    status, inbox = await started(PROXY, prospect=(LEE, "Lee"))
    assert status == 201 and (inbox["shape"], inbox["proxy_number"]) == ("one_to_group", PROXY), inbox
    assert [p["phone"] for p in inbox["participants"]] == [LEE, ALEX, SAM, KIM]
    assert inbox["notification"]["id"]
    await gateway.sms(LEE, PROXY, "Sounds good")
    for member, count in ((ALEX, 3), (SAM, 2), (KIM, 2)):
        assert "Lee: Sounds good" in await gateway.delivered_to(member, count)
    # Someone else's dedicated number: refused unless the community shares them.
    status, body = await started("+14155550102", prospect=(SAM, "Sam"))
    assert status == 409 and body["error"]["code"] == "number_dedicated", body
    status, body = await started("+14155550199", prospect=(SAM, "Sam"))
    assert status == 422 and body["error"]["code"] == "number_not_in_community", body
    status, _ = await gateway.call("PATCH", f"/v1/communities/{cid}", {"dedicated_numbers_shared": True})
    assert status == 200
    status, body = await started("+14155550102", prospect=(SAM, "Sam"))
    assert status == 201 and (body["shape"], body["proxy_number"]) == ("pair", "+14155550102"), body
    # Lee's own: the number is theirs; no other free number is left for a new pair: 409.
    status, body = await started(None, advocate=(LEE, "Lee"), prospect=(KIM, "Kim"))
    assert status == 201 and body["proxy_number"] == "+14155550102", body
    await assign(gateway, cid, PROXY_2, {"member": {"phone": SAM, "name": "Sam"}})
    status, body = await started(None, advocate=(KIM, "Kim"), prospect=(ALEX, "Alex"))
    assert status == 409 and body["error"]["code"] == "no_unassigned_number", body


async def test_a_team_conversation_opened_with_team_id(gateway):
    community = await gateway.community(numbers=(PROXY, PROXY_2))
    team = await make_team(gateway, community["id"], style="claim")
    await assign(gateway, community["id"], PROXY_2, {"team_id": team["id"]})
    status, body = await gateway.call("POST", "/v1/team-conversations", {
        "community_id": community["id"], "customer": {"phone": PAT, "name": "Pat"}, "team_id": team["id"],
        "message": "Who can fix my sink?"})
    assert status == 201, body
    assert (body["proxy_number"], body["team_style"], [p["phone"] for p in body["participants"]]) == (
        PROXY_2, "claim", [PAT, ALEX, SAM])
    for wrong, code in (({"team_id": team["id"], "members": [{"phone": KIM, "name": "Kim"}]}, "invalid_field"),
                        ({}, "missing_field"), ({"team_id": 999}, "team_not_found")):
        status, answer = await gateway.call("POST", "/v1/team-conversations", {
            "community_id": community["id"], "customer": {"phone": KIM}, "message": "x", **wrong})
        assert answer["error"]["code"] == code, answer


async def test_the_order_for_strangers_member_team_out_of_session_auto_reply(start_gateway, platform):
    gateway = await start_gateway(kind="sandbox")
    community = await gateway.community(out_of_session_url=platform.url)
    cid = community["id"]
    team = await make_team(gateway, cid, members=((SAM, "Sam"),))

    async def texted(sender):
        status, answer = await gateway.call("POST", "/sandbox/inbound", {"from": sender, "to": PROXY, "body": "hi"})
        assert status == 200, answer
        return answer["outcome"]

    await assign(gateway, cid, PROXY, {"member": {"phone": ALEX, "name": "Alex"}})
    assert await texted(PAT) == "relayed"
    assert (await conversations_of(gateway, PAT))[0]["advocate"]["phone"] == ALEX
    await assign(gateway, cid, PROXY, {"team_id": team["id"]})
    assert await texted(KIM) == "relayed"
    assert (await conversations_of(gateway, KIM))[0]["shape"] == "one_to_group"
    assert await texted(PAT) == "relayed"  # Pat's conversation with Alex still runs: it gets Pat's text
    await assign(gateway, cid, PROXY, {})
    assert await texted(LEE) == "out_of_session"
    await gateway.call("PATCH", f"/v1/communities/{cid}", {"out_of_session_url": None})
    assert await texted("+14155552676") == "unrouted"
    assert await conversations_of(gateway, LEE) == []

    async def on_screen():
        status, body = await gateway.call("GET", "/sandbox/messages?phone=%2B" + "14155552676")
        return status == 200 and len(body["messages"]) == 1

    await wait_for(on_screen, what="the auto-reply")


async def test_the_readmes_walk_through_in_test_mode_through_the_sandbox(start_gateway):
    gateway = await start_gateway(kind="sandbox")
    community = await gateway.community(numbers=(PROXY, PROXY_2, PROXY_3), mode="test", require_verification=True)
    cid, stranger = community["id"], "+14155552675"
    status, _ = await gateway.call("POST", f"/v1/communities/{cid}/allow-list",
                                   {"numbers": [ALEX, SAM, KIM, stranger]})
    assert status == 200
    team = await make_team(gateway, cid)
    await assign(gateway, cid, PROXY_2, {"team_id": team["id"]})
    await assign(gateway, cid, PROXY_3, {"member": {"phone": KIM, "name": "Kim"}})

    async def texted(sender, to, body):
        status, answer = await gateway.call("POST", "/sandbox/inbound", {"from": sender, "to": to, "body": body})
        assert status == 200, answer
        return answer["outcome"]

    async def screen(phone):
        status, body = await gateway.call("GET", "/sandbox/messages?phone=%2B" + phone[1:])
        assert status == 200, body
        return [unwrap(message["body"]) for message in body["messages"]]

    async def shows(phone, text):
        return text in await screen(phone)

    assert await texted(stranger, PROXY_2, "Is the flat still free?") == "relayed"
    for member in (ALEX, SAM):
        await wait_for(lambda: shows(member, "+1415***2675: Is the flat still free?"), what="a member's screen")
    assert await texted(ALEX, PROXY_2, "It is!") == "relayed"
    await wait_for(lambda: shows(stranger, "It is!"), what="the stranger's screen")
    await wait_for(lambda: shows(SAM, "Alex to +1415***2675: It is!"), what="Sam's screen")
    assert await texted(stranger, PROXY_3, "And parking?") == "relayed"
    await wait_for(lambda: shows(KIM, "+1415***2675: And parking?"), what="Kim's screen")
    assert {c["shape"] for c in await conversations_of(gateway, stranger)} == {"pair", "one_to_group"}


async def test_a_verification_code_goes_from_an_unassigned_number(gateway):
    # A reply to it from a team's number would open a conversation of the inbox.
    community = await gateway.community(numbers=(PROXY, PROXY_2))
    team = await make_team(gateway, community["id"])
    await assign(gateway, community["id"], PROXY, {"team_id": team["id"]})
    status, body = await gateway.call("POST", "/v1/verifications", {"community_id": community["id"], "phone": PAT})
    assert status == 201, body
    await gateway.delivered_to(PAT)
    assert [m["From"] for m in gateway.carrier.sent if m["To"] == PAT] == [PROXY_2]


async def test_stop_and_help_from_a_stranger_open_nothing(gateway):
    community = await gateway.community()
    team = await make_team(gateway, community["id"])
    await assign(gateway, community["id"], PROXY, {"team_id": team["id"]})
    for word in ("HELP", "STOP"):
        status, _ = await gateway.sms(PAT, PROXY, word)
        assert status == 200
    await gateway.delivered_to(PAT, 2)  # the help text and the opt-out confirmation
    assert await conversations_of(gateway, PAT) == []
    await asyncio.sleep(0.2)
    assert gateway.carrier.bodies_to(ALEX) == [] and gateway.carrier.bodies_to(SAM) == []


async def test_a_team_members_phone_cannot_become_one_of_our_numbers(gateway):
    community = await gateway.community()
    await make_team(gateway, community["id"], members=((ALEX, "Alex"),))
    await assign(gateway, community["id"], PROXY, {"member": {"phone": SAM, "name": "Sam"}})
    for phone in (ALEX, SAM):
        status, body = await gateway.call("POST", f"/v1/communities/{community['id']}/numbers", {"phone": phone})
        assert (status, body["error"]["code"]) == (409, "number_in_use"), body


async def test_a_stranger_never_texts_into_a_conversation_nobody_gets(gateway):
    """A dedicated member who opted out is passed over (the team, then the auto-reply), as is a team whose members
    all did: the stranger is answered, not stored into a conversation whose every copy is blocked."""
    community = await gateway.community(numbers=(PROXY, PROXY_2))
    team = await make_team(gateway, community["id"], members=((SAM, "Sam"),))
    await assign(gateway, community["id"], PROXY, {"member": {"phone": KIM, "name": "Kim"}})
    await assign(gateway, community["id"], PROXY_2, {"team_id": team["id"]})
    for member, number in ((KIM, PROXY), (SAM, PROXY_2)):
        await gateway.sms(member, number, "STOP")
        await gateway.delivered_to(member)  # the opt-out's confirmation
    await gateway.sms(PAT, PROXY, "Hello Kim?")
    await gateway.sms(LEE, PROXY_2, "Hello team?")
    assert await conversations_of(gateway, PAT) == [] and await conversations_of(gateway, LEE) == []
    assert await gateway.delivered_to(PAT) == [gateway.config.relay.unrouted_reply]
    assert await gateway.delivered_to(LEE) == [gateway.config.relay.unrouted_reply]

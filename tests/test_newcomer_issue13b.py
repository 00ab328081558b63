"""A second newcomer's findings on issue 13 (dedicated numbers, team inboxes, strangers): each a reproduction first.

Races are reproduced by holding a row lock from the test's own connection (the `db` fixture), as a slow transaction
of another request or process would: never by patching the gateway."""

import asyncio

from tests.helpers import ALEX, PAT, PROXY, PROXY_2, SAM
from tests.test_teams import assign, conversations_of, make_team


async def test_a_member_removed_from_the_team_while_a_stranger_texts_gets_nothing(gateway, db):
    # The stranger's text reads the team's members, then waits for the community's lock (another request holds it);
    # meanwhile Sam is removed from the team. The conversation that opens must not name Sam: he left the team.
    community = await gateway.community()
    cid = community["id"]
    team = await make_team(gateway, cid)
    await assign(gateway, cid, PROXY, {"team_id": team["id"]})
    transaction = db.transaction()
    await transaction.start()
    await db.execute("SELECT 1 FROM communities WHERE id = $1 FOR NO KEY UPDATE", cid)
    texting = asyncio.create_task(gateway.sms(PAT, PROXY, "Who can fix my sink?"))
    await asyncio.sleep(0.5)  # the text has read the assignment and waits on the lock
    removing = asyncio.create_task(gateway.call(
        "DELETE", f"/v1/communities/{cid}/teams/{team['id']}/members/%2B{SAM[1:]}"))
    await asyncio.sleep(0.5)
    await transaction.commit()
    status, body = await removing
    assert status == 200, body
    status, _ = await texting
    assert status == 200
    assert await gateway.delivered_to(ALEX) == ["+1415***2671: Who can fix my sink?"]
    # Sam may have had the first text (it came while he was in the team), but he is not in the conversation now.
    [opened] = await conversations_of(gateway, PAT)
    assert [p["phone"] for p in opened["participants"] if p["active"]] == [PAT, ALEX], opened["participants"]
    await gateway.sms(PAT, PROXY, "Anyone?")
    assert (await gateway.delivered_to(ALEX, 2))[1] == "+1415***2671: Anyone?"
    await asyncio.sleep(0.5)
    assert "+1415***2671: Anyone?" not in gateway.carrier.bodies_to(SAM)

async def test_a_team_deleted_while_a_number_is_assigned_to_it_is_a_4xx_not_a_500(gateway, db):
    community = await gateway.community()
    cid = community["id"]
    team = await make_team(gateway, cid)
    transaction = db.transaction()
    await transaction.start()
    await db.execute("DELETE FROM teams WHERE id = $1", team["id"])  # another request deleting it, not committed
    assigning = asyncio.create_task(gateway.call(
        "PATCH", f"/v1/communities/{cid}/numbers/%2B{PROXY[1:]}", {"team_id": team["id"]}))
    await asyncio.sleep(0.5)
    await transaction.commit()
    status, body = await assigning
    assert status == 404 and body["error"]["code"] == "team_not_found", (status, body)


async def test_a_team_deleted_while_a_number_is_being_assigned_to_it_is_a_409_not_a_500(gateway, db):
    community = await gateway.community()
    cid = community["id"]
    team = await make_team(gateway, cid)
    transaction = db.transaction()
    await transaction.start()
    # Another request assigning the number to the team, not committed yet.
    await db.execute("UPDATE community_numbers SET team_id = $1 WHERE phone = $2", team["id"], PROXY)
    deleting = asyncio.create_task(gateway.call("DELETE", f"/v1/communities/{cid}/teams/{team['id']}"))
    await asyncio.sleep(0.5)
    await transaction.commit()
    status, body = await deleting
    assert status == 409 and body["error"]["code"] == "team_has_numbers", (status, body)
    status, body = await gateway.call("GET", f"/v1/communities/{cid}/teams/{team['id']}")
    assert status == 200 and body["numbers"] == [PROXY], body


FALKLANDS = "+50051234"  # a valid mobile number of 8 digits, country code included (E.164 allows 8 or fewer)


def test_a_short_number_is_masked_as_much_as_a_long_one():
    from gateway.relay.phones import mask

    assert mask("+14155552671") == "+1415***2671"  # as before: 3 of 11 digits hidden
    assert mask("+447700900123") == "+4477***0123"
    assert mask("+3546912345") == "+3546***345"  # 10 digits: 3 hidden (it hid 2: 100 numbers to try)
    assert mask(FALKLANDS) == "+500***34"  # it showed every digit: "+5005***1234"
    assert mask("ACME") == "ACME" and mask("12345") == "12345"  # not E.164: as it came


async def test_a_team_never_reads_a_short_strangers_number(gateway):
    community = await gateway.community()
    team = await make_team(gateway, community["id"])
    await assign(gateway, community["id"], PROXY, {"team_id": team["id"]})
    await gateway.sms(FALKLANDS, PROXY, "Is the flat still free?")
    [copy] = await gateway.delivered_to(ALEX)
    assert copy == "+500***34: Is the flat still free?", copy
    assert "51234" not in copy


async def test_a_team_conversation_opened_while_its_team_is_deleted_is_a_404_not_a_500(gateway, db):
    community = await gateway.community(mode="live", require_verification=False)
    team = await make_team(gateway, community["id"])
    transaction = db.transaction()
    await transaction.start()
    await db.execute("DELETE FROM teams WHERE id = $1", team["id"])  # another request deleting it, not committed
    opening = asyncio.create_task(gateway.call("POST", "/v1/team-conversations", {
        "community_id": community["id"], "customer": {"phone": PAT}, "team_id": team["id"], "message": "Hello?"}))
    await asyncio.sleep(0.5)
    await transaction.commit()
    status, body = await opening
    assert status == 404 and body["error"]["code"] == "team_not_found", (status, body)


async def test_a_member_removed_from_the_team_while_the_api_opens_its_conversation_is_not_in_it(gateway, db):
    community = await gateway.community(mode="live", require_verification=False)
    cid = community["id"]
    team = await make_team(gateway, cid)
    transaction = db.transaction()
    await transaction.start()
    await db.execute("SELECT 1 FROM communities WHERE id = $1 FOR NO KEY UPDATE", cid)  # another opening, say
    opening = asyncio.create_task(gateway.call("POST", "/v1/team-conversations", {
        "community_id": cid, "customer": {"phone": PAT}, "team_id": team["id"], "message": "Hello?"}))
    await asyncio.sleep(0.5)  # it has read the team, and waits for the community's lock
    # Sam's removal commits first (as if it had run just before that lock was taken)
    await db.execute("DELETE FROM team_members WHERE team_id = $1 AND phone = $2", team["id"], SAM)
    await transaction.commit()
    status, body = await opening
    assert status == 201, body
    assert [p["phone"] for p in body["participants"] if p["active"]] == [PAT, ALEX], body["participants"]


async def test_a_strangers_text_racing_the_numbers_removal_opens_nothing_on_it(gateway, db):
    # The text reads the number's assignment (Alex's dedicated number), then waits for the community's lock, which
    # the number's removal holds (DELETE /v1/communities/{id}/numbers/{phone}, played here by the test's own
    # transaction). Once removed, the number is nobody's: no conversation may open on it.
    community = await gateway.community(numbers=(PROXY, PROXY_2))
    cid = community["id"]
    await assign(gateway, cid, PROXY_2, {"member": {"phone": ALEX, "name": "Alex"}})
    transaction = db.transaction()
    await transaction.start()
    await db.execute("SELECT 1 FROM communities WHERE id = $1 FOR NO KEY UPDATE", cid)
    texting = asyncio.create_task(gateway.sms(PAT, PROXY_2, "Is the flat still free?"))
    await asyncio.sleep(0.5)
    await db.execute("DELETE FROM community_numbers WHERE phone = $1", PROXY_2)
    await transaction.commit()
    status, _ = await texting
    assert status == 200
    await asyncio.sleep(0.5)
    assert await conversations_of(gateway, PAT) == []
    assert gateway.carrier.bodies_to(ALEX) == []


async def test_a_team_deleted_while_a_strangers_text_opens_its_conversation_is_not_a_500(gateway, db, clean):
    # The text has read the team's number under the community's lock and waits (here on the stranger's participant
    # row, which another transaction is adding); meanwhile the number is unassigned and the team deleted. The
    # webhook answered 500 (a foreign-key error on the conversation's team); the text must go as the number is now.
    import asyncpg

    community = await gateway.community()
    cid = community["id"]
    team = await make_team(gateway, cid)
    await assign(gateway, cid, PROXY, {"team_id": team["id"]})
    transaction = db.transaction()
    await transaction.start()
    await db.execute("INSERT INTO participants (community_id, phone, name) VALUES ($1, $2, 'Pat')", cid, PAT)
    texting = asyncio.create_task(gateway.sms(PAT, PROXY, "Who can fix my sink?"))
    await asyncio.sleep(0.5)
    other = await asyncpg.connect(clean.database_url)
    try:
        await other.execute("UPDATE community_numbers SET team_id = NULL WHERE phone = $1", PROXY)
        deleting = asyncio.create_task(other.execute("DELETE FROM teams WHERE id = $1", team["id"]))
        await asyncio.sleep(0.3)
        await transaction.commit()
        await deleting
    finally:
        await other.close()
    status, body = await texting
    assert status == 200, body
    # It opened the conversation before the team went (the delete waited for it): the team got the text, labelled
    # with the name the community knows Pat by (the participant the other transaction added).
    assert await gateway.delivered_to(ALEX) == ["Pat: Who can fix my sink?"]

"""A newcomer's findings on issue 13 (group texts, one-to-group conversations): each a reproduction first."""

import asyncio

import pytest

from tests.helpers import ALEX, PAT, PROXY, SAM
from tests.test_groups import KIM, open_group
from tests.test_intercept import FAST, Reply

FOUR = ((PAT, "Pat"), (ALEX, "Alex"), (SAM, "Sam"), (KIM, "Kim"))


@pytest.mark.parametrize("answer", [None, {"body": "Pat: see you at 7"}], ids=["released", "rewritten"])
async def test_a_member_removed_while_the_intercept_decides_gets_no_copy(start_gateway, platform, answer):
    # The removal runs inside the platform's answer: time enough for it on a loaded machine, as past the timeout
    # the copies go as written (fail open) while Kim is still a member.
    gateway = await start_gateway(hooks={**FAST, "intercept_timeout": 5.0})
    community = await gateway.community(intercept_url=platform.url)
    group = await open_group(gateway, community["id"], people=FOUR)
    await gateway.delivered_to(KIM)

    async def remove_kim(_payload):
        status, body = await gateway.call("DELETE", f"/v1/conversations/{group['id']}/members/%2B{KIM[1:]}")
        assert status == 200, body

    platform.replies.append(Reply(json=answer, before=remove_kim))
    await gateway.sms(PAT, PROXY, "See you at 7")
    await gateway.delivered_to(ALEX, 2)
    await gateway.delivered_to(SAM, 2)
    await asyncio.sleep(0.5)
    assert len(gateway.carrier.bodies_to(KIM)) == 1, gateway.carrier.bodies_to(KIM)  # the intro only
    copies = [m for m in await gateway.messages(group["id"]) if m["kind"] == "relay" and m["to"] == KIM]
    assert copies and all(m["status"] == "canceled" for m in copies), copies


async def test_a_text_stored_while_a_member_is_being_removed_does_not_reach_them(gateway):
    # The removal holds the conversation's row lock (lock_conversation) while it marks the member gone; a text
    # arriving then waits on that lock inside its storing statement, whose snapshot predates the removal.
    from gateway.storage import groups as storage
    from gateway.vocabulary import LeftReason

    community = await gateway.community()
    group = await open_group(gateway, community["id"], people=FOUR)
    await gateway.delivered_to(KIM)
    async with gateway.pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await storage.lock_conversation(conn, conversation_id=group["id"])
        texting = asyncio.create_task(gateway.sms(PAT, PROXY, "See you at 7"))
        await asyncio.sleep(0.5)  # the text is routed (Redis names Kim) and waits on the lock
        assert await storage.remove_participant(conn, conversation_id=group["id"], phone=KIM,
                                                reason=LeftReason.REMOVED)
        await transaction.commit()
        await texting
    await gateway.delivered_to(ALEX, 2)
    await asyncio.sleep(0.5)
    assert len(gateway.carrier.bodies_to(KIM)) == 1, gateway.carrier.bodies_to(KIM)
    assert not [m for m in await gateway.messages(group["id"]) if m["kind"] == "relay" and m["to"] == KIM]


# --- Part 2: the newcomer's findings of part 1, each reproduced first. ---------------------------------------------

async def test_a_leaver_who_texts_the_groups_code_is_told_they_left_not_that_it_ended(gateway):
    community = await gateway.community()
    group = await open_group(gateway, community["id"], people=FOUR)
    await gateway.delivered_to(KIM)
    status, body = await gateway.call("DELETE", f"/v1/conversations/{group['id']}/members/%2B{KIM[1:]}")
    assert status == 200, body
    await gateway.sms(KIM, PROXY, f"#{group['code']} still on?")
    assert (await gateway.delivered_to(KIM, 2))[1] == (
        f"You are no longer in conversation #{group['code']}. No conversation is open on this number.")
    # The group goes on; once it has ended, that is what the leaver is told.
    await gateway.call("POST", f"/v1/conversations/{group['id']}/close")
    await gateway.sms(KIM, PROXY, f"#{group['code']} still on?")
    assert (await gateway.delivered_to(KIM, 3))[2] == (
        f"Conversation #{group['code']} has ended. No conversation is open on this number.")


def test_the_leaver_reply_rule():
    from gateway.relay import rules as relay

    assert relay.decide([], None, "#K3 hi", (), ("K3",)) == relay.Ended("K3", (), left=True)
    assert relay.decide([], None, "#K3 hi", ("K3",), ()) == relay.Ended("K3", ())
    assert relay.ended_body("K3", [], left=True) == "You are no longer in conversation #K3. No conversation is open " \
                                                    "on this number."


def test_a_member_who_loses_the_claim_reads_both_notices_right_in_either_order():
    # "Alex has this conversation; your text was not sent." could arrive before "Alex took this conversation." (the
    # loser's answer and the winner's notice are queued by two texts' handling, and carriers keep no order): the
    # state came before the event. Both now name the same event, so either order reads right.
    from gateway.relay import fanout

    took = fanout.took_body("Alex", code="K3", recipient_open=1)
    has_it = fanout.has_it_body("Alex", code="K3", recipient_open=1)
    assert took == "Alex took this conversation."
    assert has_it == "Your text was not sent: Alex took this conversation."
    assert has_it.endswith(took)


async def test_a_text_stored_while_its_sender_is_being_removed_is_answered_as_from_one_who_left(gateway):
    from gateway.storage import groups as storage
    from gateway.vocabulary import LeftReason

    community = await gateway.community()
    group = await open_group(gateway, community["id"], people=FOUR)
    await gateway.delivered_to(KIM)
    async with gateway.pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await storage.lock_conversation(conn, conversation_id=group["id"])
        texting = asyncio.create_task(gateway.sms(KIM, PROXY, "See you all at 7"))
        await asyncio.sleep(0.5)  # the text is routed (Redis names Kim's group) and waits on the lock
        assert await storage.remove_participant(conn, conversation_id=group["id"], phone=KIM,
                                                reason=LeftReason.REMOVED)
        await transaction.commit()
        await texting
    # Never half: nothing relayed, and Kim is answered as anyone who is not in a conversation here is.
    assert (await gateway.delivered_to(KIM, 2))[1] == "This number only relays active conversations."
    await asyncio.sleep(0.5)
    assert not [m for m in await gateway.messages(group["id"]) if "See you all" in m["body"]]
    assert all(len(gateway.carrier.bodies_to(phone)) == 1 for phone in (PAT, ALEX, SAM))


async def test_a_group_intro_names_the_community_once(gateway):
    community = await gateway.community()
    group = await open_group(gateway, community["id"])
    await gateway.delivered_to(SAM)
    assert gateway.carrier.raw_bodies_to(SAM) == [
        "Acme Housing group text with Pat, Alex: Dinner Friday? (Replies go to everyone in the group.) "
        "Reply STOP to opt out."]
    status, body = await gateway.call("POST", f"/v1/conversations/{group['id']}/members", {"phone": KIM, "name": "Kim"})
    assert status == 201, body
    await gateway.delivered_to(KIM)
    assert gateway.carrier.raw_bodies_to(KIM) == [
        "Acme Housing: you were added to a conversation with Pat, Alex, Sam. Reply to this number to text them. "
        "Reply STOP to opt out."]
    # Texts that do not start with the name are identified as before (a pair's notification, a relayed copy).
    await gateway.sms(PAT, PROXY, "Hi all")
    await gateway.delivered_to(KIM, 2)
    assert gateway.carrier.raw_bodies_to(KIM)[1] == "Pat: Hi all"


@pytest.mark.parametrize("stop", ["STOP", "stop.", "Unsubscribe"])
async def test_a_stop_after_a_code_opts_out_and_is_not_relayed(gateway, db, stop):
    community = await gateway.community()
    group = await open_group(gateway, community["id"])
    await gateway.delivered_to(SAM)
    await gateway.sms(SAM, PROXY, f"#{group['code']} {stop}")
    assert (await gateway.delivered_to(PAT, 2))[1] == "Someone left the group."
    assert await db.fetchval("SELECT preference FROM contacts WHERE phone = $1", SAM) == "opted_out"
    await asyncio.sleep(0.3)
    assert not [b for phone in (PAT, ALEX) for b in gateway.carrier.bodies_to(phone) if stop in b]
    # Other words after a code are still answers to the others.
    await gateway.sms(PAT, PROXY, f"#{group['code']} yes")
    assert (await gateway.delivered_to(ALEX, 3))[2] == "Pat: yes"

"""A newcomer's findings on issue 13 (group texts, one-to-group conversations): each a reproduction first."""

import asyncio

import pytest

from tests.helpers import ALEX, PAT, PROXY, SAM
from tests.test_groups import KIM, open_group
from tests.test_intercept import FAST, Reply

FOUR = ((PAT, "Pat"), (ALEX, "Alex"), (SAM, "Sam"), (KIM, "Kim"))


@pytest.mark.parametrize("answer", [None, {"body": "Pat: see you at 7"}], ids=["released", "rewritten"])
async def test_a_member_removed_while_the_intercept_decides_gets_no_copy(start_gateway, platform, answer):
    gateway = await start_gateway(hooks=FAST)
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

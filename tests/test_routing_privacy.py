"""A text that starts with a code reaches only the open conversation with that code, or nobody (issue 9, section 1)."""

import pytest

from gateway.relay import rules as relay
from gateway.relay.rules import Ended, Forward, RouteEntry, UnknownCode, Unrouted
from gateway.routing.table import route_key
from tests.helpers import ALEX, PAT, PROXY, SAM

PAT_SIDE = RouteEntry(1, PAT, "Pat", "Q9", "Alex")
SAM_SIDE = RouteEntry(2, SAM, "Sam", "B2", "Alex")


@pytest.mark.parametrize("entries, ended, body, expected", [
    # A code of an ended conversation: never relayed to another one, whatever the sender has open.
    ([SAM_SIDE], {"Q9"}, "#Q9 one more thing", Ended("Q9", (SAM_SIDE,))),
    ([PAT_SIDE, SAM_SIDE], {"Z7"}, "#z7: one more thing", Ended("Z7", (SAM_SIDE, PAT_SIDE))),
    ([], {"Q9"}, "#Q9 anyone?", Ended("Q9", ())),
    # A code that matches nothing open: the help reply, even with a single conversation.
    ([SAM_SIDE], set(), "#Q9 one more thing", UnknownCode("Q9", (SAM_SIDE,))),
    ([], set(), "#Q9 anyone?", Unrouted()),
    # A code that is open wins over an ended one with the same letters (codes are reused once free).
    ([PAT_SIDE, SAM_SIDE], {"Q9"}, "#Q9 hi", Forward(PAT_SIDE, "hi")),
    # Not a code: ordinary text.
    ([SAM_SIDE], {"Q9"}, "#hashtag hi", Forward(SAM_SIDE, "#hashtag hi")),
    ([SAM_SIDE], {"Q9"}, "Q9 hi", Forward(SAM_SIDE, "Q9 hi")),
])
def test_a_code_goes_only_to_its_open_conversation(entries, ended, body, expected):
    assert relay.decide(entries, 2, body, ended) == expected


def test_the_ended_reply_names_the_open_codes_or_none():
    assert relay.ended_body("Q9", [SAM_SIDE]) == ("Conversation #Q9 has ended. Start your reply with one of: "
                                                  "#B2 (Sam).")
    assert relay.ended_body("Q9", []) == "Conversation #Q9 has ended. No conversation is open on this number."


async def _two_conversations(gateway):
    community = await gateway.community()
    with_pat = await gateway.conversation(community["id"])
    with_sam = await gateway.conversation(community["id"], prospect=(SAM, "Sam"))
    await gateway.delivered_to(ALEX, 2)
    return with_pat, with_sam


async def _relayed(db) -> list[str]:
    return [r["body"] for r in await db.fetch("SELECT body FROM messages WHERE kind = 'relay' ORDER BY id")]


async def test_the_code_of_a_closed_conversation_reaches_nobody(gateway, db):
    with_pat, with_sam = await _two_conversations(gateway)
    status, _ = await gateway.call("POST", f"/v1/conversations/{with_pat['id']}/close")
    assert status == 200

    status, _ = await gateway.sms(ALEX, PROXY, f"#{with_pat['code']} one more thing")
    assert status == 200
    replies = await gateway.delivered_to(ALEX, 3)
    assert replies[2] == (f"Conversation #{with_pat['code']} has ended. Start your reply with one of: "
                          f"#{with_sam['code']} (Sam).")
    assert await _relayed(db) == []
    assert gateway.carrier.bodies_to(SAM) == []


async def test_the_code_of_a_closed_conversation_still_in_redis_reaches_nobody(gateway, db, redis_client):
    with_pat, with_sam = await _two_conversations(gateway)
    # Closed in Postgres only: Redis still routes Alex's code to it.
    await db.execute("UPDATE conversations SET status = 'closed' WHERE id = $1", with_pat["id"])
    assert str(with_pat["id"]) in await redis_client.hkeys(route_key(PROXY, ALEX))

    await gateway.sms(ALEX, PROXY, f"#{with_pat['code']} one more thing")
    replies = await gateway.delivered_to(ALEX, 3)
    assert replies[2].startswith(f"Conversation #{with_pat['code']} has ended.")
    assert await _relayed(db) == []
    assert gateway.carrier.bodies_to(SAM) == [] and gateway.carrier.bodies_to(PAT) == []


async def test_a_code_that_is_not_the_only_conversations_gets_the_help_reply(gateway, db):
    community = await gateway.community()
    with_pat = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    wrong = "Z9" if with_pat["code"] != "Z9" else "Y8"

    await gateway.sms(ALEX, PROXY, f"#{wrong} hi Sam")
    replies = await gateway.delivered_to(ALEX, 2)
    assert replies[1] == f"No conversation #{wrong}. Start your reply with one of: #{with_pat['code']} (Pat)."
    assert await _relayed(db) == []
    await gateway.sms(ALEX, PROXY, "#hashtags are fine")
    assert await gateway.delivered_to(PAT) == ["#hashtags are fine"]


async def test_the_code_of_the_only_conversation_once_ended_is_answered_not_relayed(gateway, db):
    community = await gateway.community()
    with_pat = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    await gateway.call("POST", f"/v1/conversations/{with_pat['id']}/close")
    with_sam = await gateway.conversation(community["id"], prospect=(SAM, "Sam"))
    await gateway.delivered_to(ALEX, 2)
    if with_sam["code"] == with_pat["code"]:
        pytest.skip("the code was reused")  # one chance in 192

    await gateway.sms(ALEX, PROXY, f"#{with_pat['code']} about your lease")
    replies = await gateway.delivered_to(ALEX, 3)
    assert replies[2] == (f"Conversation #{with_pat['code']} has ended. Start your reply with one of: "
                          f"#{with_sam['code']} (Sam).")
    assert await _relayed(db) == []

    await gateway.call("POST", f"/v1/conversations/{with_sam['id']}/close")
    await gateway.sms(ALEX, PROXY, f"#{with_sam['code']} still there?")
    replies = await gateway.delivered_to(ALEX, 4)
    assert replies[3] == f"Conversation #{with_sam['code']} has ended. No conversation is open on this number."
    assert await _relayed(db) == []


async def test_a_strangers_code_gets_the_unrouted_reply(gateway, db):
    community = await gateway.community()
    await gateway.conversation(community["id"])
    await gateway.sms(SAM, PROXY, "#Q9 hello")
    assert await gateway.delivered_to(SAM) == ["This number only relays active conversations."]
    assert await _relayed(db) == []


async def test_a_code_still_missing_from_redis_is_found_in_postgres(gateway, db, redis_client):
    with_pat, with_sam = await _two_conversations(gateway)
    # Redis lags: it lacks Alex's conversation with Sam.
    await redis_client.hdel(route_key(PROXY, ALEX), str(with_sam["id"]))

    await gateway.sms(ALEX, PROXY, f"#{with_sam['code']} hi Sam")
    assert await gateway.delivered_to(SAM) == ["hi Sam"]
    assert gateway.carrier.bodies_to(PAT) == []
    assert await db.fetchval("SELECT count(*) FROM messages WHERE kind = 'help'") == 0

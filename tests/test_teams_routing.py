"""Team inboxes and dedicated numbers in the routing table: a conversation a stranger's text opens is written through
as any other, found by a second process, and survives a Valkey killed with -9 (issue 13, part 2)."""

import asyncio

from tests.helpers import ALEX, PAT, PROXY, PROXY_2, SAM, wait_for
from tests.test_groups import KIM
from tests.test_groups_routing import _in_step, _table
from tests.test_routing_generation import _kill, _own
from tests.test_teams import assign, make_team


async def test_a_conversation_opened_by_a_strangers_text_is_seen_by_every_process(start_gateway, clean, own_redis):
    [first, second], client = await _own(start_gateway, clean, own_redis, processes=2)
    community = await first.community(numbers=(PROXY, PROXY_2))
    team = await make_team(first, community["id"])
    await assign(first, community["id"], PROXY, {"team_id": team["id"]})
    await assign(first, community["id"], PROXY_2, {"member": {"phone": KIM, "name": "Kim"}})

    await first.sms(PAT, PROXY, "Is the flat free?")  # opened in the first process
    await first.delivered_to(SAM)
    await second.sms(ALEX, PROXY, "It is")  # answered through the second
    # (one fake carrier behind both processes: what each phone got, whichever process sent it)
    assert await second.delivered_to(PAT) == ["It is"]
    assert (await second.delivered_to(SAM, 2))[1] == "Alex to +1415***2671: It is"
    await second.sms(PAT, PROXY_2, "And parking?")  # a dedicated number, opened in the second process
    assert await second.delivered_to(KIM) == ["+1415***2671: And parking?"]
    await first.sms(KIM, PROXY_2, "One space")
    assert (await first.delivered_to(PAT, 2))[1] == "One space"
    assert len(await _table(client)) == 5  # Pat, Alex, Sam on the team's number; Pat and Kim on Kim's
    await client.aclose()


async def test_a_valkey_killed_with_a_team_conversation_open(start_gateway, clean, own_redis, db):
    [gateway], client = await _own(start_gateway, clean, own_redis)
    community = await gateway.community()
    team = await make_team(gateway, community["id"], members=((ALEX, "Alex"), (SAM, "Sam"), (KIM, "Kim")))
    await assign(gateway, community["id"], PROXY, {"team_id": team["id"]})
    await gateway.sms(PAT, PROXY, "one")
    await gateway.delivered_to(KIM)

    _kill(own_redis)
    # While Valkey is down: Kim leaves the team (and so the conversation), the team keeps talking (Postgres
    # answers), and a second stranger's text opens a conversation of the inbox (its write-through fails).
    status, _ = await gateway.call("DELETE", f"/v1/communities/{community['id']}/teams/{team['id']}/members/"
                                             f"%2B{KIM[1:]}")
    assert status == 200
    await gateway.sms(ALEX, PROXY, "two")
    stranger = "+14155552676"
    await gateway.sms(stranger, PROXY, "hello")
    own_redis.start_redis()  # from its append-only file: Kim's entry and the old marker are still there

    await wait_for(lambda: _in_step(client, db), timeout=15, what="table in step with Postgres")
    assert await gateway.delivered_to(PAT, timeout=10) == ["two"]
    assert any(b.endswith("+1415***2676: hello") for b in await gateway.delivered_to(SAM, 3, timeout=10))
    await gateway.sms(PAT, PROXY, "three")
    await gateway.sms(stranger, PROXY, "four")
    bodies = await gateway.delivered_to(ALEX, 4, timeout=10)
    assert any(b.endswith("+1415***2671: three") for b in bodies) and any(b.endswith("four") for b in bodies)
    await asyncio.sleep(0.3)
    assert [b for b in gateway.carrier.bodies_to(KIM) if "two" in b or "three" in b or "hello" in b] == []
    await client.aclose()

"""Number choice across a pool, and the shared-number rule: last-relayed routing, codes and the help reply."""

import asyncio

from tests.helpers import ALEX, PAT, PROXY, PROXY_2, PROXY_3, SAM

KIM = "+14155552674"
LEE = "+14155552675"


async def test_pool_gives_each_pair_its_own_number(gateway):
    community = await gateway.community(numbers=[PROXY, PROXY_2])
    first = await gateway.conversation(community["id"], prospect=(PAT, "Pat"))
    second = await gateway.conversation(community["id"], prospect=(SAM, "Sam"))
    # Alex is on the first number already, so the second conversation takes the other one.
    assert {first["proxy_number"], second["proxy_number"]} == {PROXY, PROXY_2}


async def test_pool_spreads_unrelated_conversations(gateway):
    community = await gateway.community(numbers=[PROXY, PROXY_2, PROXY_3])
    numbers = [(await gateway.conversation(community["id"], prospect=(p, "P"), advocate=(a, "A")))["proxy_number"]
               for p, a in ((PAT, ALEX), (SAM, KIM), ("+14155552676", LEE))]
    assert sorted(numbers) == [PROXY, PROXY_2, PROXY_3]


async def test_simultaneous_starts_never_share_a_pair(gateway):
    community = await gateway.community(numbers=[PROXY, PROXY_2])
    prospects = [f"+1415555{2680 + i}" for i in range(4)]
    results = await asyncio.gather(*(gateway.call("POST", "/v1/conversations", {
        "community_id": community["id"], "prospect": {"phone": p, "name": f"P{i}"},
        "advocate": {"phone": ALEX, "name": "Alex"}, "message": "hi"}) for i, p in enumerate(prospects)))
    assert [status for status, _ in results] == [201] * 4
    conversations = [body for _, body in results]
    # Two numbers, four conversations for Alex: two per number, each with its own code there.
    assert sorted(c["proxy_number"] for c in conversations) == [PROXY, PROXY, PROXY_2, PROXY_2]
    assert len({(c["proxy_number"], c["code"]) for c in conversations}) == 4


async def test_shared_number_uses_codes_and_last_relayed(gateway):
    community = await gateway.community(numbers=[PROXY])
    with_pat = await gateway.conversation(community["id"], prospect=(PAT, "Pat"), message="Is parking free?")
    with_sam = await gateway.conversation(community["id"], prospect=(SAM, "Sam"), message="Pets allowed?")
    assert with_pat["proxy_number"] == with_sam["proxy_number"] == PROXY
    # Both notifications leave at once, so the carrier may take them in either order.
    notes = sorted(await gateway.delivered_to(ALEX, 2), key=lambda note: "Pets" in note)
    # Alex has two conversations on one number from the second one on: that one carries its code.
    assert notes[0].startswith("Pat via Acme Housing: Is parking free?")
    assert notes[1].startswith(f"#{with_sam['code']} Sam via Acme Housing: Pets allowed?")

    # A reply without a code goes to the conversation that last texted Alex: Sam's.
    await gateway.sms(ALEX, PROXY, "Yes, cats and dogs.")
    assert await gateway.delivered_to(SAM) == ["Yes, cats and dogs."]

    # A code picks the conversation and is stripped.
    await gateway.sms(ALEX, PROXY, f"#{with_pat['code'].lower()} Parking is free.")
    assert await gateway.delivered_to(PAT) == ["Parking is free."]

    # Prospects have one conversation each: their replies need no code, and Alex sees who speaks.
    await gateway.sms(PAT, PROXY, "Thanks!")
    bodies = await gateway.delivered_to(ALEX, 3)
    assert bodies[2] == f"#{with_pat['code']} Pat: Thanks!"


async def test_reply_goes_where_the_last_message_came_from(gateway):
    community = await gateway.community(numbers=[PROXY])
    with_pat = await gateway.conversation(community["id"], prospect=(PAT, "Pat"))
    await gateway.conversation(community["id"], prospect=(SAM, "Sam"))
    await gateway.delivered_to(ALEX, 2)
    await gateway.sms(PAT, PROXY, "One more question")  # now Pat's conversation texted Alex last
    await gateway.delivered_to(ALEX, 3)
    await gateway.sms(ALEX, PROXY, "Sure, go ahead")
    assert await gateway.delivered_to(PAT) == ["Sure, go ahead"]
    assert gateway.carrier.bodies_to(SAM) == []
    assert (await gateway.messages(with_pat["id"]))[-1]["body"] == "Sure, go ahead"


async def test_unknown_code_gets_help_with_the_open_codes(gateway):
    community = await gateway.community(numbers=[PROXY])
    with_pat = await gateway.conversation(community["id"], prospect=(PAT, "Pat"))
    with_sam = await gateway.conversation(community["id"], prospect=(SAM, "Sam"))
    await gateway.delivered_to(ALEX, 2)
    # A code neither conversation has (codes are drawn at random).
    unknown = next(code for code in ("Z9", "Y8") if code not in (with_pat["code"], with_sam["code"]))
    status, _ = await gateway.sms(ALEX, PROXY, f"#{unknown} hello")
    assert status == 200
    [help_text] = (await gateway.delivered_to(ALEX, 3))[2:]
    assert help_text.startswith(f"No conversation #{unknown}.")
    assert f"#{with_pat['code']} (Pat)" in help_text and f"#{with_sam['code']} (Sam)" in help_text
    assert gateway.carrier.bodies_to(PAT) == [] and gateway.carrier.bodies_to(SAM) == []

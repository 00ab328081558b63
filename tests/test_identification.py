"""Sender identification: the first text to a phone that never wrote to the community says who we are."""

from tests.helpers import ALEX, PAT, PROXY


async def test_first_message_to_a_new_phone_identifies_the_sender(gateway):
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"], message="Is parking free?")
    await gateway.delivered_to(ALEX)
    assert gateway.carrier.raw_bodies_to(ALEX) == [
        "Pat via Acme Housing: Is parking free? (Reply to this number to answer.) Reply STOP to opt out."]
    await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                       {"from": "prospect", "body": "Also, pets?"})
    await gateway.delivered_to(ALEX, 2)
    assert gateway.carrier.raw_bodies_to(ALEX)[1] == "Also, pets?"  # ongoing: not repeated
    stored = (await gateway.messages(conversation["id"]))[0]
    assert stored["body"].endswith(" Reply STOP to opt out.") and stored["segments"] == 1  # what was sent


async def test_a_phone_that_wrote_first_gets_no_identification(gateway):
    community = await gateway.community()
    await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    await gateway.sms(PAT, PROXY, "Hi, I texted you first")  # Pat writes before we ever texted Pat
    await gateway.sms(ALEX, PROXY, "Hello Pat")
    await gateway.delivered_to(PAT)
    assert gateway.carrier.raw_bodies_to(PAT) == ["Hello Pat"]


async def test_template_and_sender_name_are_the_communitys(gateway):
    community = await gateway.community(sender_name="Maple Court",
                                        sender_id_template="{message} -- {sender name}. Text STOP to end.")
    await gateway.conversation(community["id"], message="Hi")
    await gateway.delivered_to(ALEX)
    assert gateway.carrier.raw_bodies_to(ALEX) == [
        "Pat via Acme Housing: Hi (Reply to this number to answer.) -- Maple Court. Text STOP to end."]
    status, body = await gateway.call("PATCH", f"/v1/communities/{community['id']}",
                                      {"sender_id_template": "no placeholder"})
    assert (status, body["error"]["code"]) == (422, "invalid_field")

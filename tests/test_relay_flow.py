"""A whole conversation through the gateway: API start, SMS both ways, the carrier sees only the proxy number."""

from tests.helpers import ALEX, PAT, PROXY, wait_for


async def test_conversation_is_relayed_both_ways(gateway):
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    assert conversation["proxy_number"] == PROXY and conversation["status"] == "open"

    [notification] = await gateway.delivered_to(ALEX)
    assert notification.startswith("Pat via Acme Housing: Is housing included?")

    status, text = await gateway.sms(ALEX, PROXY, "Yes, utilities too.")
    assert status == 200 and text == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    assert await gateway.delivered_to(PAT) == ["Yes, utilities too."]

    await gateway.sms(PAT, PROXY, "Great, thanks!")
    assert (await gateway.delivered_to(ALEX, 2))[1] == "Great, thanks!"

    # Neither party ever sees the other's number: everything goes out from the proxy number.
    assert {m["From"] for m in gateway.carrier.sent} == {PROXY}
    assert all(PAT not in m["Body"] and ALEX not in m["Body"] for m in gateway.carrier.sent)

    messages = await gateway.messages(conversation["id"])
    assert [(m["direction"], m["kind"]) for m in messages] == [
        ("outbound", "notification"), ("inbound", "inbound"), ("outbound", "relay"),
        ("inbound", "inbound"), ("outbound", "relay")]
    sent_sids = {m["sid"] for m in gateway.carrier.sent}

    async def all_recorded():
        outbound = [m for m in await gateway.messages(conversation["id"]) if m["direction"] == "outbound"]
        return all(m["carrier_sid"] in sent_sids and m["status"] == "accepted" for m in outbound)

    await wait_for(all_recorded, what="carrier sids recorded")


async def test_status_callback_url_names_our_message(gateway):
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    [notification] = [m for m in await gateway.messages(conversation["id"]) if m["kind"] == "notification"]
    assert gateway.carrier.sent[0]["StatusCallback"] == \
        f"{gateway.config.public_url}/webhooks/twilio/status?message_id={notification['id']}"


async def test_message_written_on_the_web_site_is_texted(gateway):
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    status, message = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                                         {"from": "advocate", "body": "Happy to help."})
    assert status == 201 and message["to"] == PAT and message["from"] == PROXY
    assert await gateway.delivered_to(PAT) == ["Happy to help."]
    # and the prospect's SMS reply comes back to the advocate
    await gateway.sms(PAT, PROXY, "Thanks")
    assert "Thanks" in await gateway.delivered_to(ALEX, 2)  # the notification may land after it

"""A newcomer's attack on issue 14's WhatsApp and limits per unit (README "WhatsApp", "Daily limits and ramp-up"):
each test was failing before the fix committed with it."""

from tests.helpers import ALEX, PAT, PROXY, wait_for
from tests.test_whatsapp import WA_PAT, _async, _message, _setup, whatsapp_sent


async def test_a_template_still_waiting_when_the_participant_answers_is_not_sent(gateway):
    """The re-engagement template waited (here at the WhatsApp monthly limit) while Pat answered: the window is open,
    the held text goes as free text, and the template, asking Pat to write, would go after it for nothing (and be
    paid for). Decided at send time: it is canceled."""
    community, conversation = await _setup(gateway, opted_in=True)
    status, body = await gateway.call("PATCH", f"/v1/communities/{community['id']}", {"whatsapp_monthly_limit": 0})
    assert status == 200, body
    await gateway.sms(ALEX, PROXY, "Is Monday fine?")
    await _message(gateway, conversation["id"], kind="whatsapp_template", status="held")
    await gateway.sms(WA_PAT, PROXY, "Yes, go ahead")  # the window opens; the text is queued again
    assert (await gateway.delivered_to(ALEX, 2))[1] == "Yes, go ahead"
    await _message(gateway, conversation["id"], kind="relay", status="held", status_reason="monthly_limit")

    status, body = await gateway.call("POST", f"/v1/communities/{community['id']}/held/release")
    assert status == 200, body
    await wait_for(lambda: _async([m.get("Body") for m in whatsapp_sent(gateway)] == ["Is Monday fine?"]),
                   what="the text sent on WhatsApp")
    template = await _message(gateway, conversation["id"], kind="whatsapp_template", status="canceled")
    assert template["status_reason"] == "whatsapp_template_unneeded"
    assert [m.get("ContentSid") for m in whatsapp_sent(gateway)] == [None]
    assert gateway.carrier.raw_bodies_to(PAT) == []


async def test_a_template_waiting_when_the_phone_is_switched_to_sms_is_not_sent_by_sms(gateway):
    """The template waited (held at the WhatsApp limit) and the platform switched Pat back to SMS: the held text
    goes by SMS, and the template's preview must not follow it as an SMS."""
    community, conversation = await _setup(gateway, opted_in=True)
    await gateway.call("PATCH", f"/v1/communities/{community['id']}", {"whatsapp_monthly_limit": 0})
    await gateway.sms(ALEX, PROXY, "Is Monday fine?")
    await _message(gateway, conversation["id"], kind="whatsapp_template", status="held")
    status, _ = await gateway.call("PUT", f"/v1/communities/{community['id']}/whatsapp/contacts/{PAT}",
                                   {"channel": "sms"})
    assert status == 200
    assert await gateway.delivered_to(PAT) == ["Is Monday fine?"]
    status, body = await gateway.call("POST", f"/v1/communities/{community['id']}/held/release")
    assert status == 200, body
    await _message(gateway, conversation["id"], kind="whatsapp_template", status="canceled")
    assert await gateway.delivered_to(PAT) == ["Is Monday fine?"]
    assert whatsapp_sent(gateway) == []

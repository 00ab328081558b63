"""A community's WhatsApp template_id is checked when it is set: one token of at most 64 characters, and in the
format of the carriers its numbers go through (a Content SID at Twilio; WhatsApp's template name where the carrier
passes WhatsApp's template object), else 422 invalid_field and nothing is stored."""

import pytest

from gateway.carriers.base import whatsapp_template_name_problem
from gateway.carriers.twilio import Settings, TwilioCarrier
from gateway.config import Config

SID = "HX0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("template_id, twilio_ok, name_ok", [
    (SID, True, False),
    ("HX0123", False, False),  # too short for a SID; upper case for a name
    ("reengage_v1", False, True),
    ("Reengage", False, False),  # WhatsApp's names are lower case
    ("re-engage", False, False),
    ("a" * 513, False, False),
])
def test_each_carrier_knows_its_format(template_id, twilio_ok, name_ok):
    twilio = TwilioCarrier(Settings("AC" + "0" * 32, "token"), Config())
    assert (twilio.template_problem(template_id) is None) is twilio_ok
    assert (whatsapp_template_name_problem(template_id) is None) is name_ok


async def _put(gateway, community_id: int, template_id: str):
    return await gateway.call("PUT", f"/v1/communities/{community_id}/whatsapp/template",
                              {"template_id": template_id, "preview": "Acme has a message for you."})


@pytest.mark.parametrize("template_id", ["reengage_v1", "", "   ", "HX 0123", "x" * 65, "HX0123\n"])
async def test_a_template_id_not_in_the_numbers_carriers_format_is_refused(gateway, db, template_id):
    community = await gateway.community()  # its number on Twilio (the test gateway's carrier)
    status, body = await _put(gateway, community["id"], template_id)
    assert (status, body["error"]["code"]) == (422, "invalid_field"), body
    assert await db.fetchval("SELECT whatsapp_template FROM communities") is None
    assert (await _put(gateway, community["id"], SID))[0] == 200


async def test_the_sandbox_takes_any_sane_id(start_gateway):
    gateway = await start_gateway("sandbox")
    community = await gateway.community()
    assert (await _put(gateway, community["id"], "HX0123"))[0] == 200  # the README's walk-through

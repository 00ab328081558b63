"""X-Twilio-Signature: we accept exactly what Twilio's own RequestValidator accepts (the `twilio` package is the test
oracle, a dev dependency only), on the URL with and without its port."""

import re
import secrets
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from gateway.carriers.twilio import TwilioWire, signature
from tests.fakes import ACCOUNT_SID
from tests.helpers import PAT, PROXY

TOKEN = "12345"
HOSTS = ["https://gw.example.com", "https://gw.example.com:443", "https://gw.example.com:8443",
         "http://gw.example.com", "http://gw.example.com:80", "http://gw.example.com:8080", "http://127.0.0.1:8080",
         "https://gw.example.com/prefix", "https://gw.example.com:8443/prefix"]
PATHS = ["/webhooks/twilio/sms", "/webhooks/twilio/status?mid=12", "/webhooks/twilio/status?mid=12&x=%C3%A9",
         "/webhooks/twilio/sms?", "/webhooks/twilio/sms;p=1"]
VALUES = st.text(st.characters(blacklist_categories=["Cs"]), max_size=8)
FIELDS = st.sampled_from(["MessageSid", "From", "To", "Body", "Digits", "a", "B"])
FORMS = st.lists(st.tuples(FIELDS, VALUES), max_size=6).flatmap(
    lambda form: st.just(form) | st.just(form + form[:1]))  # and with a field repeated, value and all


def _variants(url: str) -> list[str]:
    """The URL as a carrier might sign it: as is, without the port, with the default or another port."""
    host = re.sub(r"^(https?://[^/:]+)(:\d+)?", r"\1", url)
    start = host.split("/", 3)
    base, rest = "/".join(start[:3]), ("/" + start[3]) if len(start) > 3 else ""
    return [url, base + rest, base + ":443" + rest, base + ":80" + rest, base + ":8443" + rest]


@settings(max_examples=300, deadline=None)
@given(host=st.sampled_from(HOSTS), path=st.sampled_from(PATHS), form=FORMS, signer=st.integers(0, 4),
       theirs=st.booleans())
def test_verify_agrees_with_twilios_request_validator(host, path, form, signer, theirs):
    url = host + path
    signed_over = _variants(url)[signer]
    validator = RequestValidator(TOKEN)
    given_signature = (validator.compute_signature(signed_over, MultiDict(form)) if theirs
                       else signature(TOKEN, signed_over, form))
    ours = TwilioWire(TOKEN).verify_form(url, form, {"X-Twilio-Signature": given_signature})
    assert ours == validator.validate(url, MultiDict(form), given_signature)


@pytest.mark.parametrize("given_signature", ["", "x", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", "\udce9", "é" * 28])
def test_wrong_signatures_are_refused_as_the_validator_refuses_them(given_signature):
    url, form = "https://mycompany.com/myapp.php?foo=1&bar=2", [("Digits", "1234")]
    assert not TwilioWire(TOKEN).verify_form(url, form, {"X-Twilio-Signature": given_signature})


@pytest.mark.parametrize("public_url, signed_over, expected", [
    ("https://gw.example.com:8443", "https://gw.example.com", 200),
    ("https://gw.example.com", "https://gw.example.com:443", 200),
    ("https://gw.example.com:443", "https://gw.example.com", 200),
    ("https://gw.example.com:8443", "https://gw.example.com:8444", 403),
    ("https://gw.example.com", "https://gw.example.com:8444", 403),
    ("https://gw.example.com:443", "https://gw.example.com:8444", 403),
])
async def test_a_webhook_signed_with_or_without_the_port_is_accepted(start_gateway, public_url, signed_over,
                                                                      expected):
    gateway = await start_gateway(server={"public_url": public_url})
    form = {"MessageSid": "SM" + secrets.token_hex(16), "AccountSid": ACCOUNT_SID, "From": PAT, "To": PROXY,
            "Body": "hello", "NumMedia": "0"}
    headers = {"X-Twilio-Signature": signature(gateway.token, signed_over + "/webhooks/twilio/sms",
                                               list(form.items()))}
    async with gateway.client.post("/webhooks/twilio/sms", data=form, headers=headers) as response:
        assert response.status == expected, await response.text()


def test_the_gateway_does_not_import_the_twilio_package():
    """`twilio` is a test oracle only; the gateway's own code checks signatures."""
    sources = Path(__file__).parent.parent.joinpath("gateway").rglob("*.py")
    importing = [str(p) for p in sources if re.search(r"^\s*(import twilio|from twilio\b)", p.read_text(), re.M)]
    assert importing == []

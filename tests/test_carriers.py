"""Carriers own their edge: the interface's common parts, several carriers at once with a carrier per number,
and the sandbox failing on request so that do-not-disturb and retries can be tried by hand."""

import secrets
from urllib.parse import urlencode

import pytest

from gateway.carriers import OTHER_FAILURE, Failure, RawRequest
from gateway.carriers.sandbox import SandboxCarrier, Settings as SandboxSettings
from gateway.carriers.twilio import ERROR_CODES, TwilioWire, signature
from gateway.compliance.preferences import dnd_for
from gateway.config import Config
from gateway.vocabulary import Dnd, FailureClass
from tests.fakes import ACCOUNT_SID
from tests.helpers import ALEX, PAT, PROXY, PROXY_2, wait_for


@pytest.mark.parametrize("code, dnd", [
    ("21610", Dnd.PERMANENT),  # unsubscribed at the carrier
    ("30003", Dnd.TEMPORARY), ("30005", Dnd.TEMPORARY), ("30006", Dnd.TEMPORARY),
    ("30007", None),  # filtered: the content, not the phone
    ("21211", None), ("21614", None),  # refused at once, never counted toward DND (as before issue 10)
    ("20429", None), ("99999", None),
])
def test_twilio_codes_map_onto_the_dnd_rules_as_before(code, dnd):
    assert dnd_for(TwilioWire("t").failure(code)) == dnd


def test_a_code_outside_the_map_is_other_and_no_code_is_no_failure():
    carrier = TwilioWire("t")
    assert (carrier.failure("12345"), carrier.failure(None), carrier.failure("")) == (OTHER_FAILURE, None, None)
    assert carrier.codes_where(lambda failure: dnd_for(failure) == Dnd.TEMPORARY) == ["30003", "30005", "30006",
                                                                                             "63024"]
    assert ERROR_CODES["21610"] == Failure(FailureClass.OPTED_OUT, True)


def _raw(url: str, form: list, token: str = "t", content_type: str = "application/x-www-form-urlencoded",
         charset: str | None = None) -> RawRequest:
    headers = {"X-Twilio-Signature": signature(token, url, form)}
    return RawRequest("POST", url, headers, urlencode(form).encode(), content_type, charset)


def test_twilio_verifies_the_raw_body_and_parses_it():
    url = "https://gw.example.com/webhooks/twilio/sms"
    form = [("MessageSid", "SM1"), ("From", "+14155552671"), ("To", "+14155550100"), ("Body", "é & ü")]
    carrier = TwilioWire("t")
    assert carrier.verify(_raw(url, form))
    assert not carrier.verify(_raw(url, form, token="other"))
    [sms] = carrier.parse_inbound(_raw(url, form))
    assert (sms.sid, sms.body) == ("SM1", "é & ü")
    assert carrier.parse_status(_raw(url, [("MessageSid", "SM1"), ("MessageStatus", "received")])) == []
    reply = carrier.inbound_reply()
    assert (reply.status, reply.content_type) == (200, "text/xml") and b"<Response/>" in reply.body


def test_the_sandbox_answers_at_twilios_paths_only_when_twilio_is_not_a_carrier():
    alone = SandboxCarrier(SandboxSettings(), Config())
    beside = SandboxCarrier(SandboxSettings(), Config().replace(carrier={"also": "twilio"}, twilio={
        "account_sid": "AC1", "auth_token": "t"}, sandbox={"auth_token": "our-own-sandbox-token"}, verification={"secret": "x" * 16},
        hooks={"secret": "y" * 16}))
    assert ("/webhooks/twilio/sms", "inbound") in alone.webhook_paths()
    assert beside.webhook_paths() == [("/webhooks/sandbox/sms", "inbound"), ("/webhooks/sandbox/status", "status")]


async def _sandbox_screen(gateway, phone):
    status, body = await gateway.call("GET", "/sandbox/messages?phone=" + phone.replace("+", "%2B"))
    assert status == 200, body
    return body["messages"]


async def test_two_carriers_at_once_each_number_sends_through_its_own(start_gateway, db):
    gateway = await start_gateway(kind="twilio", carrier={"also": "sandbox"})
    on_twilio = await gateway.community(numbers=[PROXY], name="On Twilio")
    on_sandbox = await gateway.community(numbers=[{"phone": PROXY_2, "carrier": "sandbox"}], name="On Sandbox")
    assert await db.fetchval("SELECT carrier FROM community_numbers WHERE phone = $1", PROXY) is None
    # The API shows which carrier each number's texts go through (the default for a number that names none).
    assert (on_twilio["carriers"], on_sandbox["carriers"]) == ({PROXY: "twilio"}, {PROXY_2: "sandbox"})
    assert (await gateway.call("GET", f"/v1/communities/{on_sandbox['id']}"))[1]["carriers"] == {PROXY_2: "sandbox"}
    await gateway.conversation(on_twilio["id"])
    sandboxed = await gateway.conversation(on_sandbox["id"])
    await gateway.delivered_to(ALEX)
    assert [m["From"] for m in gateway.carrier.sent] == [PROXY]
    [shown] = await wait_for(lambda: _sandbox_screen(gateway, ALEX), what="the sandbox's text")
    assert shown["from"] == PROXY_2

    async def delivered():  # the sandbox's callbacks come back to its own status path
        return all(m["status"] == "delivered" for m in await gateway.messages(sandboxed["id"]))

    await wait_for(delivered, what="the sandbox's callbacks")
    # Each carrier's webhooks verify with its own secret, at its own path.
    form = {"MessageSid": "SM" + secrets.token_hex(16), "AccountSid": ACCOUNT_SID, "From": PAT, "To": PROXY_2,
            "Body": "Hi from Pat", "NumMedia": "0"}
    sandbox_token = gateway.config.per_carrier["sandbox"].auth_token
    assert (await gateway._signed("/webhooks/twilio/sms", form, True, sandbox_token))[0] == 403
    assert (await gateway._signed("/webhooks/sandbox/sms", form, True, sandbox_token))[0] == 200
    assert "Hi from Pat" in [m["body"] for m in await gateway.messages(sandboxed["id"])]


@pytest.mark.parametrize("numbers", [
    [{"phone": PROXY, "carrier": "pigeon"}],
    [{"phone": PROXY, "carrier": "twilio"}],  # a known carrier, but not one this gateway serves
    [{"phone": PROXY, "carrier": ["sandbox"]}],
])
async def test_a_number_on_a_carrier_not_served_is_refused(start_gateway, db, numbers):
    gateway = await start_gateway(kind="sandbox")
    status, body = await gateway.call("POST", "/v1/communities", {"name": "X", "numbers": numbers})
    assert (status, body["error"]["code"]) == (422, "unknown_carrier")
    # A carrier that is no string is refused by its type, before the served carriers are looked at.
    assert ("sandbox" if isinstance(numbers[0]["carrier"], str) else "numbers[0].carrier") in body["error"]["message"]
    assert await db.fetchval("SELECT count(*) FROM communities") == 0


async def test_a_number_whose_carrier_is_gone_holds_its_sends(start_gateway, db):
    """Its sends wait, held, until a gateway serving the carrier releases them (they failed before: lost)."""
    gateway = await start_gateway(kind="sandbox")
    community = await gateway.community()
    await db.execute("UPDATE community_numbers SET carrier = 'twilio'")  # configured once, no longer
    conversation = await gateway.conversation(community["id"])

    async def held():
        return [m for m in await gateway.messages(conversation["id"]) if m["status"] == "held"]

    [message] = await wait_for(held, what="the send held")
    assert (message["status_reason"], message["error_code"], message["attempts"]) == ("carrier_not_served", None, 0)


async def test_status_callbacks_take_our_id_by_its_new_and_its_old_name(gateway):
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    [sent] = [m for m in await gateway.messages(conversation["id"]) if m["direction"] == "outbound"]
    sid = gateway.carrier.sent[0]["sid"]
    form = {"MessageSid": sid, "MessageStatus": "sent", "AccountSid": ACCOUNT_SID}
    assert (await gateway._signed(f"/webhooks/twilio/status?message_id={sent['id']}", form, True, None))[0] == 200
    assert (await gateway.status(sid, "delivered", mid=sent["id"]))[0] == 200
    assert (await gateway.message(sent["id"]))["status"] == "delivered"
    form["MessageStatus"] = "read"
    status, body = await gateway._signed("/webhooks/twilio/status?message_id=%C2%B2", form, True, None)
    assert status == 400 and "message_id" in body


async def _plan(gateway, phone, failure, count=1):
    return await gateway.call("POST", "/sandbox/failures", {"phone": phone, "failure": failure, "count": count})


async def _contact(db, phone):
    return await db.fetchrow("SELECT dnd, dnd_reason FROM contacts WHERE phone = $1", phone)


async def test_sandbox_opted_out_failure_puts_the_phone_on_permanent_dnd(start_gateway, db):
    gateway = await start_gateway(kind="sandbox")
    assert await _plan(gateway, "(415) 555-2672", "opted_out") == \
        (200, {"phone": ALEX, "failure": "opted_out", "count": 1})
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])

    async def on_dnd():
        row = await _contact(db, ALEX)
        return row is not None and row["dnd"] is not None

    await wait_for(on_dnd, what="DND recorded")
    assert tuple(await _contact(db, ALEX)) == ("permanent", "opted_out")
    status, body = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                                      {"from": "prospect", "body": "Hello?"})
    assert (status, body["error"]["code"]) == (409, "recipient_on_dnd")


async def test_sandbox_unreachable_failures_put_the_phone_on_temporary_dnd(start_gateway, db):
    gateway = await start_gateway(kind="sandbox", compliance={"temporary_dnd_failures": 2})
    await _plan(gateway, ALEX, "unreachable", 2)
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])

    async def failures(count):
        rows = await db.fetch("SELECT error_code FROM messages WHERE status = 'failed'")
        return len(rows) >= count and rows

    await wait_for(lambda: failures(1), what="the first failure")
    assert await _contact(db, ALEX) is None or (await _contact(db, ALEX))["dnd"] is None  # one is not enough
    status, _ = await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                                   {"from": "prospect", "body": "Are you there?"})
    assert status == 201
    assert [row["error_code"] for row in await wait_for(lambda: failures(2), what="the second")] == \
        ["unreachable"] * 2
    async def on_dnd():
        contact = await _contact(db, ALEX)
        return contact is not None and contact["dnd"] is not None and contact
    # The second failure is stored first, then counted toward do-not-disturb: wait for the mark itself.
    assert tuple(await wait_for(on_dnd, what="the do-not-disturb mark")) == ("temporary", "unreachable")
    # The plan is used up: the next phone's texts go out.
    await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                       {"from": "advocate", "body": "Hello Pat"})
    [text] = await wait_for(lambda: _sandbox_screen(gateway, PAT), what="Pat's text")
    assert "Hello Pat" in text["body"]


async def test_sandbox_rate_limited_asks_to_try_again(start_gateway):
    gateway = await start_gateway(kind="sandbox")
    await _plan(gateway, ALEX, "rate_limited", 1)
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await wait_for(lambda: _sandbox_screen(gateway, ALEX), what="the text after its retry")
    [sent] = [m for m in await gateway.messages(conversation["id"]) if m["direction"] == "outbound"]
    assert (await gateway.message(sent["id"]))["attempts"] == 2


async def test_sandbox_failures_clear_and_validate(start_gateway):
    gateway = await start_gateway(kind="sandbox")
    assert (await _plan(gateway, ALEX, "landline", 5))[0] == 200
    assert (await _plan(gateway, ALEX, "landline", 0))[0] == 200  # none planned any more
    community = await gateway.community()
    await gateway.conversation(community["id"])
    await wait_for(lambda: _sandbox_screen(gateway, ALEX), what="the text")
    for body in ({"phone": ALEX, "failure": "grumpy"}, {"phone": ALEX, "failure": "landline", "count": 101},
                 {"phone": ALEX, "failure": "landline", "count": True}, {"phone": "nope", "failure": "landline"}):
        status, answer = await gateway.call("POST", "/sandbox/failures", body)
        assert status == 422, (body, answer)
    status, _ = await gateway.call("POST", "/sandbox/failures", {"phone": ALEX, "failure": "landline"}, token=None)
    assert status == 401


async def test_sandbox_filtered_failures_restrict_the_community(start_gateway):
    gateway = await start_gateway(kind="sandbox", compliance={"monitor_interval": 0.2, "monitor_min_sent": 4})
    await _plan(gateway, ALEX, "filtered", 1)  # the first of four sends fails: 25%, past the 10% restriction
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    for i in range(3):
        await gateway.call("POST", f"/v1/conversations/{conversation['id']}/messages",
                           {"from": "prospect", "body": f"m{i}"})

    async def restricted():
        status, body = await gateway.call("GET", f"/v1/communities/{community['id']}")
        return body["compliance"] if body["compliance"]["state"] == "restricted" else None

    compliance = await wait_for(restricted, what="restricted")
    assert compliance["error_rate"] == 0.25

    async def three_texts():
        return len(await _sandbox_screen(gateway, ALEX)) == 3

    await wait_for(three_texts, what="the three texts that were not failed")

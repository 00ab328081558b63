"""Pictures through the other paths (issue 14): a group's copies carry them, a community's intercept sees the text
once its pictures are fetched, and a gateway process killed mid-fetch leaves the fetch to another."""

import signal

import aiohttp

from gateway.carriers.twilio import signature
from tests.fakes import ACCOUNT_SID, AUTH_TOKEN
from tests.helpers import ALEX, PAT, PROXY, SAM, wait_for
from tests.test_groups import open_group
from tests.test_intercept import intercepted
from tests.test_media import FAST, mms, picture
from tests.test_scale_out import ROOT, Process, _call


def _with_media(gateway, phone: str):
    async def check():
        found = [m for m in gateway.carrier.sent if m["To"] == phone and m.get("MediaUrl")]
        return found[-1] if found else None
    return check


async def test_a_groups_copies_each_carry_the_pictures(start_gateway):
    gateway = await start_gateway(media=FAST)
    community = await gateway.community()
    await open_group(gateway, community["id"])
    files = [picture(1), picture(2)]
    await gateway.sms(PAT, PROXY, "Look", extra=mms(*(gateway.carrier.media.add(c, "image/png") for c in files)))
    for phone in (ALEX, SAM):
        sent = await wait_for(_with_media(gateway, phone), what=f"the MMS to {phone}")
        assert sent["Body"] == "Pat: Look" and len(sent["MediaUrl"]) == 2
    assert [m for m in gateway.carrier.sent if m["To"] == PAT and m.get("MediaUrl")] == []
    assert len(gateway.carrier.media.fetches) == 2  # fetched once, sent to each


async def test_an_intercepted_text_is_offered_once_its_pictures_are_fetched(start_gateway, platform):
    gateway, _, _ = await intercepted(start_gateway, platform)
    url = gateway.carrier.media.add(picture(3), "image/png", delays=[0.5])
    await gateway.sms(PAT, PROXY, "Intercept me", extra=mms(url))
    await wait_for(lambda: platform.got(1), what="the text offered to the platform")
    assert gateway.carrier.media.fetches  # offered only after the fetch
    sent = await wait_for(_with_media(gateway, ALEX), what="the MMS to Alex")
    assert sent["Body"] == "Intercept me"


async def test_a_process_killed_mid_fetch_leaves_the_fetch_to_another(clean, fake_twilio, db, tmp_path):
    config = tmp_path / "gateway.toml"
    config.write_text((ROOT / "config.toml").read_text()
                      .replace('fetch_hosts = ""', 'fetch_hosts = "127.0.0.1,localhost"')
                      .replace("fetch_timeout = 20.0", "fetch_timeout = 1.0")
                      .replace("poll_interval = 1.0 ", "poll_interval = 0.1 ")
                      .replace("per_number_rate = 1.0", "per_number_rate = 1000.0"))
    fake_twilio.media.url = fake_twilio.url
    first = await Process(clean, fake_twilio.url, config).start()
    second = None
    try:
        status, community = await _call(first, "POST", "/v1/communities", {
            "name": "Acme Housing", "numbers": [PROXY], "mode": "live", "require_verification": False})
        status, conversation = await _call(first, "POST", "/v1/conversations", {
            "community_id": community["id"], "prospect": {"phone": PAT, "name": "Pat"},
            "advocate": {"phone": ALEX, "name": "Alex"}, "message": "Hello"})
        assert status == 201, conversation
        url = fake_twilio.media.add(picture(9), "image/png", delays=[30.0])  # the first fetch hangs
        assert await _mms(first, "With a picture", url) == 200
        await wait_for(lambda: _now(len(fake_twilio.media.started) == 1), what="the fetch started")
        await first.stop(signal.SIGKILL)
        assert await db.fetchval("SELECT state FROM message_media") == "pending"
        second = await Process(clean, fake_twilio.url, config).start()
        sent = await wait_for(_with_media_fake(fake_twilio, ALEX), timeout=20, what="the MMS sent by the other")
        assert sent["Body"] == "With a picture" and len(sent["MediaUrl"]) == 1
        row = await db.fetchrow("SELECT state, attempts FROM message_media")
        assert (row["state"], row["attempts"]) == ("stored", 2)
    finally:
        await first.stop(signal.SIGKILL)
        if second is not None:
            await second.stop(signal.SIGKILL)


def _with_media_fake(fake, phone):
    async def check():
        found = [m for m in fake.sent if m["To"] == phone and m.get("MediaUrl")]
        return found[-1] if found else None
    return check


async def _now(value):
    return value


async def _mms(process: Process, body: str, url: tuple[str, str]) -> int:
    form = {"MessageSid": "SM" + "7" * 32, "From": PAT, "To": PROXY, "Body": body, "AccountSid": ACCOUNT_SID,
            **mms(url)}
    target = process.url + "/webhooks/twilio/sms"
    async with aiohttp.ClientSession() as session:
        async with session.post(target, data=form, headers={
                "X-Twilio-Signature": signature(AUTH_TOKEN, target, list(form.items()))}) as response:
            return response.status

"""Pictures written into a group text from the API (POST /v1/conversations/{id}/messages with media): fanned out as
the text is, each copy carrying them (as an MMS to a US or Canadian number, else the link); an id that is not an
unused upload of the community refuses the whole write, and nothing is stored."""

import base64

from tests.helpers import ALEX, PAT, SAM
from tests.test_groups import open_group
from tests.test_media import FAST, picture


async def _upload(gateway, community_id: int, n: int) -> int:
    status, body = await gateway.call("POST", "/v1/media", {"community_id": community_id, "content_type": "image/png",
                                                           "data": base64.b64encode(picture(n)).decode()})
    assert status == 201, body
    return body["id"]


async def test_a_picture_written_into_a_group_reaches_every_other_participant(start_gateway, db):
    gateway = await start_gateway(media=FAST)
    community = await gateway.community()
    group = await open_group(gateway, community["id"])
    await gateway.delivered_to(SAM)
    upload = await _upload(gateway, community["id"], 1)
    status, body = await gateway.call("POST", f"/v1/conversations/{group['id']}/messages",
                                      {"from": PAT, "body": "The menu", "media": [upload]})
    assert status == 201, body
    assert [c["to"] for c in body["copies"]] == [ALEX, SAM]
    for phone in (ALEX, SAM):
        [mms] = [m for m in await _sent(gateway, phone) if m.get("MediaUrl")]
        assert mms["Body"] == "Pat: The menu" and len(mms["MediaUrl"]) == 1
        async with gateway.client.get(mms["MediaUrl"][0].removeprefix(gateway.config.public_url)) as answer:
            assert await answer.read() == picture(1)
    assert not [m for m in gateway.carrier.sent if m["To"] == PAT and m.get("MediaUrl")]


async def _sent(gateway, phone: str) -> list[dict]:
    await gateway.delivered_to(phone, 2)
    return [m for m in gateway.carrier.sent if m["To"] == phone]


async def test_an_upload_not_the_communitys_refuses_the_whole_write(start_gateway, db):
    gateway = await start_gateway(media=FAST)
    community = await gateway.community()
    group = await open_group(gateway, community["id"])
    before = await db.fetchval("SELECT count(*) FROM messages")
    status, body = await gateway.call("POST", f"/v1/conversations/{group['id']}/messages",
                                      {"from": PAT, "body": "The menu", "media": [999]})
    assert (status, body["error"]["code"]) == (422, "invalid_field")
    assert await db.fetchval("SELECT count(*) FROM messages") == before

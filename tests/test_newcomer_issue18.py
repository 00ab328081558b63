"""A newcomer tried to break the day's changes (a map's wrong value named by its key, the per-community gauges read
at each scrape); each test here is one fault found, or one edge that must keep holding."""

import asyncio

import pytest

from tests.conftest import Servers
from tests.fakes import Proxy
from tests.test_resilience import _via_proxy

from tests.test_whatsapp import TEMPLATE


async def _preview(gateway, data):
    cid = (await gateway.community())["id"]
    return await gateway.call("POST", f"/v1/communities/{cid}/templates/preview", {"body": "Hi {a}", "data": data})


@pytest.mark.parametrize("key", ["a`b", "x - at `$.q", "note` in `$.body"])
async def test_a_wrong_value_is_named_by_its_key_whatever_the_key_holds(gateway, key):
    """The key was put into msgspec's message before the message was read, so a backtick in it broke the reading:
    "a`b" gave ": expected a string, got an integer - at `$.data.a`b`" (no path), and "x - at `$.q" named a field
    `q` the body does not have."""
    status, body = await _preview(gateway, {"a": "fine", key: 7})
    assert (status, body["error"]["code"]) == (422, "invalid_field"), body
    assert body["error"]["message"] == f"data.{key}: expected a string, got an integer", body


@pytest.mark.parametrize(("key", "shown"), [("bad key!", "'bad key!'"), ("", "''"), ("123456789", "'123456789'")])
async def test_a_refused_key_is_named_with_the_map(gateway, key, shown):
    """msgspec refuses a map's key (WhatsApp variables: 1 to 8 of [0-9A-Za-z_]) "at `key` in `$.variables`", which
    was not read as a path: the answer was ": expected a string matching regex ... - at `key` in `$.variables`"."""
    cid = (await gateway.community())["id"]
    status, body = await gateway.call("PUT", f"/v1/communities/{cid}/whatsapp/template",
                                      {**TEMPLATE, "variables": {"1": "Acme", key: "x"}})
    assert (status, body["error"]["code"]) == (422, "invalid_field"), body
    assert body["error"]["message"].startswith(f"variables (key {shown}): expected a string"), body


@pytest.mark.parametrize(("data", "message"), [
    ({"a": "x", "b": 1, "c": [2]}, "data.b: expected a string, got an integer"),  # the first wrong one
    ({"a.b[0]": {"c": 1}}, "data.a.b[0]: expected a string, got an object"),
    ({"é" * 60: 1}, f"data.{'é' * 40}: expected a string, got an integer"),  # a long key cut
    ({"1": None}, "data.1: must not be null"),
    ({"a": "x" * 501}, "data.a: expected a string of length <= 500"),
    ({f"k{i}": "v" for i in range(51)}, "data: expected an object of length <= 50"),
])
async def test_what_held(gateway, data, message):
    status, body = await _preview(gateway, data)
    assert (status, body["error"]["code"], body["error"]["message"]) == (422, "invalid_field", message), body



async def _behind_a_proxy(start_gateway, clean, **sections):
    proxy = Proxy(_via_proxy(clean.database_url, 0)[1])
    port = await proxy.start()
    gateway = await start_gateway(servers=Servers(_via_proxy(clean.database_url, port)[0], clean.redis_url,
                                                  clean.embedded), **sections)
    return proxy, gateway


async def _scrape(gateway, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    started = asyncio.get_running_loop().time()
    async with gateway.client.get("/metrics", headers=headers) as response:
        return response.status, await response.text(), asyncio.get_running_loop().time() - started


async def test_metrics_answer_quickly_with_postgres_away(start_gateway, clean, db):
    proxy, gateway = await _behind_a_proxy(start_gateway, clean)
    community = (await gateway.community())["id"]
    await db.execute("UPDATE communities SET compliance_state = 'restricted', error_rate = 0.25, "
                     "rates_checked_at = now() WHERE id = $1", community)
    status, text, _ = await _scrape(gateway)
    assert status == 200 and f'gateway_community_compliance_state{{community="{community}"}} 2.0' in text, text
    await proxy.cut()
    status, text, took = await _scrape(gateway)
    assert (status, "gateway_redis_up" in text, took < 3) == (200, True, True), (status, took)


async def test_metrics_refuse_a_wrong_token_without_waiting_for_postgres(start_gateway, clean):
    proxy, gateway = await _behind_a_proxy(start_gateway, clean, server={"metrics_token": "right"})
    await proxy.cut()
    status, _, took = await _scrape(gateway, "wrong")
    assert (status, took < 0.5) == (401, True), took

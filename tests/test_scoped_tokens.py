"""Scoped tokens: a token limited to some communities finds nothing of the others (404), a read-only token
changes nothing (403); the configuration keeps today's name -> token form and names a bad setting."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, from_dict, load
from gateway.tokens import parse_tokens
from tests.helpers import ALEX, PAT, PROXY, PROXY_2, TOKEN

OPS = "ops-token-0123456789"
READER = "reader-token-0123456789"


@pytest.fixture
async def scoped(start_gateway):
    """Communities 1 (PROXY) and 2 (PROXY_2), a conversation in each; ops reaches 1, reader reads 1."""
    gateway = await start_gateway(server={"api_tokens": {
        "tests": TOKEN, "ops": {"token": OPS, "communities": [1]},
        "reader": {"token": READER, "communities": [1], "read_only": True}}})
    mine, theirs = await gateway.community(numbers=(PROXY,)), await gateway.community(numbers=(PROXY_2,))
    assert (mine["id"], theirs["id"]) == (1, 2)
    gateway.mine = await gateway.conversation(1)
    gateway.theirs = await gateway.conversation(2)
    return gateway


def _outside(theirs: dict) -> list[tuple[str, str, dict | None]]:
    """Every endpoint that reaches community 2, directly or through its conversation, message or code."""
    c, m = theirs["id"], theirs["notification"]["id"]
    return [
        ("GET", "/v1/communities/2", None), ("PATCH", "/v1/communities/2", {"name": "x"}),
        ("GET", "/v1/communities/2/allow-list", None), ("POST", "/v1/communities/2/allow-list", {"numbers": [PAT]}),
        ("DELETE", f"/v1/communities/2/allow-list/{PAT}", None), ("DELETE", f"/v1/communities/2/dnd/{PAT}", None),
        ("GET", "/v1/communities/2/contacts", None), ("GET", "/v1/communities/2/held", None),
        ("POST", "/v1/communities/2/held/release", None), ("POST", "/v1/communities/2/held/cancel", None),
        ("POST", "/v1/communities/2/restriction/lift", None),
        ("POST", "/v1/communities/2/numbers", {"phone": "+14155550199"}),
        ("DELETE", f"/v1/communities/2/numbers/{PROXY_2}", None),
        ("GET", "/v1/communities/2/numbers", None), ("PATCH", f"/v1/communities/2/numbers/{PROXY_2}", {}),
        ("GET", "/v1/communities/2/teams", None),
        ("POST", "/v1/communities/2/teams", {"name": "T", "members": [{"phone": ALEX, "name": "A"}]}),
        ("GET", f"/v1/conversations/{c}", None), ("GET", f"/v1/conversations/{c}/messages", None),
        ("POST", f"/v1/conversations/{c}/messages", {"from": "advocate", "body": "hi"}),
        ("POST", f"/v1/conversations/{c}/close", None),
        ("POST", "/v1/conversations", {"community_id": 2, "prospect": {"phone": PAT, "name": "P"},
                                       "advocate": {"phone": ALEX, "name": "A"}, "message": "m"}),
        ("GET", f"/v1/messages/{m}", None), ("POST", f"/v1/messages/{m}/release", None),
        ("POST", f"/v1/messages/{m}/cancel", None),
        ("POST", "/v1/verifications", {"community_id": 2, "phone": PAT}),
    ]


async def test_a_community_out_of_scope_is_not_found_everywhere(scoped, db):
    before = await db.fetchval("SELECT count(*) FROM messages")
    for method, path, body in _outside(scoped.theirs):
        status, answer = await scoped.call(method, path, body, token=OPS)
        assert status == 404 and answer["error"]["code"].endswith("not_found"), (method, path, answer)
        # The same words as for a community that does not exist.
        assert "no " in answer["error"]["message"], answer
    assert await db.fetchval("SELECT count(*) FROM messages") == before
    assert (await scoped.call("GET", f"/v1/conversations/{scoped.theirs['id']}"))[0] == 200  # the full token


async def test_a_verification_out_of_scope_is_not_found(scoped):
    status, started = await scoped.call("POST", "/v1/verifications", {"community_id": 2, "phone": PAT})
    assert status == 201, started
    for method, path, body in [("GET", f"/v1/verifications/{started['id']}", None),
                               ("POST", f"/v1/verifications/{started['id']}/check", {"code": "123456"})]:
        status, answer = await scoped.call(method, path, body, token=OPS)
        assert (status, answer["error"]["code"]) == (404, "verification_not_found")


async def test_a_scoped_token_works_in_its_community_and_lists_only_it(scoped):
    assert (await scoped.call("GET", "/v1/communities/1", token=OPS))[0] == 200
    status, body = await scoped.call("POST", f"/v1/conversations/{scoped.mine['id']}/messages",
                                     {"from": "advocate", "body": "hi"}, token=OPS)
    assert status == 201, body
    for path, items in [("/v1/communities", "communities"), ("/v1/conversations", "conversations"),
                        ("/v1/messages", "messages")]:
        status, body = await scoped.call("GET", path, token=OPS)
        assert status == 200 and body[items], body
        assert {row.get("community_id", row["id"]) for row in body[items]} == {1}, body
    for path, items in [("/v1/conversations", "conversations"), ("/v1/messages", "messages")]:
        assert (await scoped.call("GET", f"{path}?community_id=2", token=OPS))[1][items] == []
        assert (await scoped.call("GET", f"{path}?community_id=2"))[1][items]  # the full token sees them
    # It cannot make a community it would not reach.
    status, body = await scoped.call("POST", "/v1/communities", {"name": "X", "numbers": ["+14155550188"]},
                                     token=OPS)
    assert (status, body["error"]["code"]) == (403, "outside_token_scope")


async def test_a_read_only_token_reads_and_changes_nothing(scoped):
    assert (await scoped.call("GET", f"/v1/conversations/{scoped.mine['id']}", token=READER))[0] == 200
    assert (await scoped.call("GET", "/v1/messages?community_id=1", token=READER))[0] == 200
    for method, path, body in [("POST", f"/v1/conversations/{scoped.mine['id']}/messages",
                                {"from": "advocate", "body": "hi"}),
                               ("PATCH", "/v1/communities/1", {"name": "x"}),
                               ("DELETE", f"/v1/communities/1/allow-list/{PAT}", None)]:
        status, answer = await scoped.call(method, path, body, token=READER)
        assert (status, answer["error"]["code"]) == (403, "read_only_token"), (method, path)
    assert (await scoped.call("GET", "/v1/communities/2", token=READER))[0] == 404


async def test_a_read_only_token_is_given_no_signing_secret(scoped):
    """An event secret signs as well as it verifies: a dashboard's token could forge events to the platform."""
    status, answer = await scoped.call("GET", "/v1/communities/1/event-secret", token=READER)
    assert (status, answer["error"]["code"]) == (403, "read_only_token")
    status, answer = await scoped.call("GET", "/v1/communities/1/event-secret")
    assert status == 200 and answer["secret"].startswith("whsec_")


def test_tokens_keep_the_old_form_and_take_tables():
    config = from_dict({"server": {"api_tokens": {"platform": "secret", "ops": {
        "token": "ops", "communities": [1, 2], "read_only": True}}}})
    platform, ops = parse_tokens(config.server.api_tokens)
    assert (platform.name, platform.token, platform.communities, platform.read_only) == (
        "platform", "secret", None, False)
    assert (ops.communities, ops.read_only) == (frozenset({1, 2}), True)
    env = load({"GATEWAY_API_TOKEN": "from-env", "GATEWAY_CONFIG": "/dev/null"})
    assert [(t.name, t.token, t.communities) for t in parse_tokens(env.server.api_tokens)] == [
        ("default", "from-env", None)]


@pytest.mark.parametrize("tokens, named", [
    ({"ops": {"token": "t", "communities": "1"}}, "server.api_tokens.ops.communities"),
    ({"ops": {"token": "t", "communities": [0]}}, "server.api_tokens.ops.communities"),
    ({"ops": {"token": "t", "read_only": "yes"}}, "server.api_tokens.ops.read_only"),
    ({"ops": {"communities": [1]}}, "server.api_tokens.ops.token"),
    ({"ops": {"token": "t", "scope": 1}}, "server.api_tokens.ops:"),
    ({"ops": ""}, "server.api_tokens.ops.token"),
    ({"a": "same", "b": {"token": "same"}}, "server.api_tokens.b.token"),
    ({"ops": 5}, "server.api_tokens"),
])
def test_a_bad_token_setting_is_named(tokens, named):
    with pytest.raises(ConfigError) as error:
        from_dict({"server": {"api_tokens": tokens}})
    assert named in str(error.value) and "\n" not in str(error.value)

"""A newcomer tried issue 16 (running it for real: the environment rule, readiness, the operations port and the
metrics token, retention and erasure, the deployment files) and broke it; each test here is one thing that broke."""

import asyncio
import json
import signal
import subprocess
import sys

from urllib.parse import urlsplit

import aiohttp
import pytest
import yaml

from gateway import config as settings
from gateway.compliance import retention
from gateway.config_process import RetentionSettings
from tests.conftest import Servers, free_port
from tests.helpers import ALEX, PAT, PROXY, PROXY_2, PROXY_3, SAM, wait_for
from tests.test_erasure import _redis_naming, _tables_naming
from tests.test_media import FAST, mms, picture
from tests.test_deploy import DEPLOY, PROMTOOL, ROOT, _deployment_environment, _process_env, _run

WAITING = "('queued', 'held', 'submitting')"


async def _settled(db) -> bool | None:
    return await db.fetchval(f"SELECT count(*) FROM messages WHERE status IN {WAITING}") == 0 or None


async def _talk(gateway) -> tuple[int, int]:
    community = await gateway.community()
    conversation = await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    assert (await gateway.sms(ALEX, PROXY, "Parking is included"))[0] == 200
    await gateway.delivered_to(PAT)
    await wait_for(lambda: _settled(gateway.pool), 10, "every send recorded")
    return community["id"], conversation["id"]


async def _pass(gateway, **rules) -> dict[str, int]:
    return await retention.run_pass(gateway.pool, gateway.metrics, RetentionSettings(**rules))


async def _old_held(db, cid: int, conversation: int, days: int) -> int:
    """Every message so far aged by days, and a text held since then (the walk reads them in id order)."""
    await db.execute("UPDATE messages SET created_at = created_at - make_interval(days => $1)", days)
    return await db.fetchval(
        "INSERT INTO messages (community_id, conversation_id, direction, kind, from_number, to_number, body, status, "
        "status_reason, created_at) VALUES ($1, $2, 'outbound', 'relay', $3, $4, 'held back', 'held', 'monthly_limit', "
        "now() - make_interval(days => $5)) RETURNING id", cid, conversation, PROXY, PAT, days)


async def _released_and_sent(gateway, db, message_id: int) -> None:
    status, body = await gateway.call("POST", f"/v1/messages/{message_id}/release")
    assert status == 200, body
    await wait_for(lambda: _settled(db), 10, "the released text sent")


# --- Retention: the walk's mark passed a message that still waited, and never came back to it ---

async def test_a_text_that_waited_past_body_days_loses_its_body_once_sent(gateway, db):
    cid, conversation = await _talk(gateway)
    held = await _old_held(db, cid, conversation, 100)
    await _pass(gateway, body_days=90, row_days=0)
    assert await db.fetchval("SELECT body FROM messages WHERE id = $1", held) == "held back"  # still to be sent
    await _released_and_sent(gateway, db, held)

    await _pass(gateway, body_days=90, row_days=0)

    row = await db.fetchrow("SELECT body, redacted_at FROM messages WHERE id = $1", held)
    assert row["body"] == "" and row["redacted_at"] is not None, "kept past body_days for good"


async def test_a_text_that_waited_past_row_days_is_deleted_once_sent(gateway, db):
    cid, conversation = await _talk(gateway)
    held = await _old_held(db, cid, conversation, 500)
    await _pass(gateway, body_days=0, row_days=400)
    assert await db.fetchval("SELECT count(*) FROM messages WHERE id = $1", held) == 1
    await _released_and_sent(gateway, db, held)

    await _pass(gateway, body_days=0, row_days=400)

    assert await db.fetchval("SELECT count(*) FROM messages WHERE id = $1", held) == 0, "kept past row_days"


# --- Retention: a huge age was accepted, and every pass then failed in Postgres ---

@pytest.mark.parametrize("variable", ["GATEWAY_RETENTION__BODY_DAYS", "GATEWAY_RETENTION__ROW_DAYS",
                                      "GATEWAY_MEDIA__RETENTION_DAYS", "GATEWAY_HOOKS__RETENTION_DAYS"])
def test_an_age_past_a_century_is_refused_at_start(variable):
    with pytest.raises(settings.ConfigError) as caught:
        settings.load({variable: "99999999"})
    assert "at most 36500" in str(caught.value)
    settings.load({variable: "36500"})


async def test_the_longest_age_allowed_runs_a_pass(gateway, db):
    await _talk(gateway)
    assert await _pass(gateway, body_days=36500, row_days=36500) == {
        "bodies_redacted": 0, "messages_deleted": 0, "conversations_deleted": 0, "verifications_deleted": 0,
        "broadcast_recipients_deleted": 0}


# --- The metrics token: one with spaces around it was accepted and could never match; "bearer" was refused ---

@pytest.mark.parametrize("token", ["scrape-me ", " scrape-me", "scrape\nme", "scrapé"])
def test_a_metrics_token_no_header_can_carry_is_refused_at_start(token):
    with pytest.raises(settings.ConfigError) as caught:
        settings.load({"GATEWAY_SERVER__METRICS_TOKEN": token})
    assert str(caught.value).startswith("server.metrics_token")


async def test_the_metrics_token_is_read_as_the_api_token_is(start_gateway):
    gateway = await start_gateway(server={"metrics_token": "scrape-me"})
    for header in ("bearer scrape-me", "BEARER scrape-me", "Bearer  scrape-me"):
        async with gateway.client.get("/metrics", headers={"Authorization": header}) as response:
            assert response.status == 200, header
    for header in ("Basic scrape-me", "Bearer scrape-m", "Bearerscrape-me", "scrape-me"):
        async with gateway.client.get("/metrics", headers={"Authorization": header}) as response:
            assert response.status == 401, header


# --- The environment: an old name and the rule's variable both set, or an empty variable ---

@pytest.mark.parametrize("env", [
    {"GATEWAY_PORT": "9000", "GATEWAY_SERVER__PORT": "9001"},
    {"DATABASE_URL": "postgresql://a@b/c", "GATEWAY_DATABASE__URL": "postgresql://x@y/z"},
    {"TWILIO_AUTH_TOKEN": "one", "GATEWAY_TWILIO__AUTH_TOKEN": "other"},
])
def test_two_variables_for_one_setting_that_disagree_stop_start_up(env):
    with pytest.raises(settings.ConfigError) as caught:
        settings.load(env)
    assert all(variable in str(caught.value) for variable in env)


def test_two_variables_for_one_setting_that_agree_are_fine():
    assert settings.load({"GATEWAY_PORT": "9000", "GATEWAY_SERVER__PORT": "9000"}).server.port == 9000


@pytest.mark.parametrize("variable", ["GATEWAY_SERVER__HOST", "GATEWAY_HOST"])
def test_an_empty_variable_is_unset_by_either_name(variable):
    """GATEWAY_HOST= kept the default, but GATEWAY_SERVER__HOST= listened on every interface."""
    config = settings.load({variable: "", "GATEWAY_SERVER__PORT": "", "GATEWAY_LOG__ACCESS": ""})
    assert config.server.host == "127.0.0.1" and config.server.port == 8080 and config.log.access is True


# --- The monitoring kit: every process reports the one shared queue, and the kit added them up ---

QUEUE_TEST = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - name: two gateways report the same shared queue of 300, growing slowly
    interval: 1m
    input_series:
      - series: 'gateway_queue_depth{{state="ready", instance="gateway-1:9090"}}'
        values: '300+1x40'
      - series: 'gateway_queue_depth{{state="ready", instance="gateway-2:9090"}}'
        values: '300+1x40'
    alert_rule_test:
      - eval_time: 30m
        alertname: GatewayQueueGrowing
        exp_alerts: []
"""


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (apt-get install prometheus)")
def test_two_gateways_reporting_one_queue_do_not_double_it(tmp_path):
    test = tmp_path / "queue_test.yml"
    test.write_text(QUEUE_TEST.format(rules=DEPLOY / "prometheus" / "alerts.yml"))
    result = subprocess.run([PROMTOOL, "test", "rules", str(test)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dashboard_shows_the_queue_once_however_many_gateways():
    panels = json.loads((DEPLOY / "grafana" / "sms-gateway.json").read_text())["panels"]
    exprs = [target["expr"] for panel in panels for target in panel["targets"] if "gateway_queue_depth" in target["expr"]]
    assert exprs and all(not expr.startswith("sum") for expr in exprs), exprs


# --- gateway_redis_up moved only when something asked /readyz (a systemd host has no one asking) ---

async def test_redis_up_follows_redis_without_a_readiness_check(start_gateway, clean, own_redis):
    servers = Servers(clean.database_url, own_redis.start_redis(), own_redis)
    gateway = await start_gateway(servers=servers)
    registry = gateway.metrics.registry

    async def redis_up(value: float):
        return registry.get_sample_value("gateway_redis_up") == value or None

    own_redis.stop()
    await wait_for(lambda: redis_up(0), 12, "gateway_redis_up at 0 with Redis away")
    own_redis.start_redis()
    await wait_for(lambda: redis_up(1), 12, "gateway_redis_up at 1 with Redis back")


# --- `health` built http://::1:port/readyz for a gateway on an IPv6 address, and said it was down ---

async def test_health_reaches_a_gateway_listening_on_ipv6(clean):
    port, ops = free_port(), free_port()
    env = _process_env(clean, port, ops) | {"GATEWAY_HOST": "::1"}
    assert (await asyncio.to_thread(_run, env, "migrate")).returncode == 0
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "gateway", "serve", cwd=ROOT, env=env,
                                                   stdout=asyncio.subprocess.DEVNULL,
                                                   stderr=asyncio.subprocess.DEVNULL)

    async def ready():
        try:
            async with aiohttp.ClientSession() as session, session.get(f"http://[::1]:{ops}/readyz") as answer:
                return answer.status == 200 or None
        except aiohttp.ClientError:
            return None

    try:
        await wait_for(ready, 30, "the gateway answering on [::1]")
        result = await asyncio.to_thread(_run, env, "health")
        assert (result.returncode, result.stdout.strip()) == (0, "ready"), result.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0


# --- Erasure: a team member, a dedicated number's member, a group participant; a race with arriving texts ---

KIM, LEE = "+14155552674", "+14155552675"


async def _erase(gateway, cid: int, phone: str) -> dict:
    status, body = await gateway.call("POST", f"/v1/communities/{cid}/erasures", {"phone": phone})
    assert status == 201, body
    return body


async def test_erasing_a_team_member_a_dedicated_member_and_a_group_participant(gateway, db):
    community = await gateway.community(numbers=(PROXY, PROXY_2, PROXY_3), event_url="https://platform.example/e")
    cid = community["id"]
    status, team = await gateway.call("POST", f"/v1/communities/{cid}/teams", {
        "name": "Lettings", "style": "everyone", "members": [{"phone": ALEX, "name": "Alex"},
                                                              {"phone": SAM, "name": "Sam"}]})
    assert status == 201, team
    for number, assignment in ((PROXY, {"team_id": team["id"]}), (PROXY_2, {"member": {"phone": KIM, "name": "Kim"}})):
        status, body = await gateway.call("PATCH", f"/v1/communities/{cid}/numbers/%2B{number[1:]}", assignment)
        assert status == 200, body
    await gateway.sms(PAT, PROXY, "Who can fix my sink?")
    await gateway.delivered_to(ALEX)
    await gateway.sms(ALEX, PROXY, "I can come at 5")
    await gateway.sms(LEE, PROXY_2, "Is the flat free?")
    await gateway.delivered_to(KIM)
    await gateway.sms(KIM, PROXY_2, "It is")
    status, group = await gateway.call("POST", "/v1/groups", {
        "community_id": cid, "message": "Dinner?", "participants": [
            {"phone": PAT, "name": "Pat"}, {"phone": SAM, "name": "Sam"}, {"phone": LEE, "name": "Lee"}]})
    assert status == 201, group
    await gateway.sms(SAM, PROXY_3, "I am in")
    await wait_for(lambda: _settled(db), 10, "every send recorded")

    for phone in (ALEX, KIM, SAM):
        assert await _tables_naming(db, phone)
        erased = await _erase(gateway, cid, phone)
        assert await _tables_naming(db, phone) == {}, (phone, erased["counts"])
        assert await _redis_naming(gateway.redis, phone) == [], phone
    status, body = await gateway.call("GET", f"/v1/communities/{cid}/teams/{team['id']}")
    assert status == 200 and [m["phone"] for m in body["members"]] == [], body
    status, body = await gateway.call("GET", f"/v1/communities/{cid}/numbers")
    assert status == 200 and all(n.get("member") is None for n in body["numbers"]), body


async def test_texts_arriving_while_a_phone_is_erased_leave_nothing_of_it_in_its_conversation(gateway, db):
    cid, conversation = await _talk(gateway)

    async def texts(sender: str, count: int):
        return [await gateway.sms(sender, PROXY, f"text {n} from {sender[-4:]}") for n in range(count)]

    arriving = [asyncio.create_task(texts(sender, 15)) for sender in (PAT, ALEX, PAT, ALEX)]
    await asyncio.sleep(0.05)
    erased = await _erase(gateway, cid, PAT)
    answers = [answer for task in arriving for answer in await task]
    assert all(status == 200 for status, _ in answers), answers
    assert erased["counts"]["conversations_closed"] == 1

    kept = await db.fetch("SELECT id, kind, body, from_number, to_number FROM messages WHERE conversation_id = $1 "
                          "AND (body <> '' OR $2 IN (from_number, to_number))", conversation, PAT)
    assert kept == [], "the erased conversation kept texts naming or quoting the phone"
    assert await db.fetchval(f"SELECT count(*) FROM messages WHERE to_number = $1 AND status IN {WAITING}", PAT) == 0


async def test_erasing_a_phone_that_sent_pictures_removes_them_and_their_links(start_gateway, db):
    gateway = await start_gateway(media=FAST)
    cid, conversation = await _talk(gateway)
    await gateway.sms(PAT, PROXY, "The lease", extra=mms(gateway.carrier.media.add(picture(1), "image/png")))
    sent = await wait_for(_with_media_to(gateway, ALEX), what="the MMS to Alex")
    links = sent["MediaUrl"]
    assert await db.fetchval("SELECT count(*) FROM message_media WHERE content IS NOT NULL") >= 1

    erased = await _erase(gateway, cid, PAT)

    assert erased["counts"]["media"] >= 1
    assert await db.fetchval("SELECT count(*) FROM message_media") == 0
    async with gateway.client.session.get(links[0] if isinstance(links, list) else links) as answer:
        assert answer.status == 404, "the picture's link still served it"
    assert await _tables_naming(db, PAT) == {}


def _with_media_to(gateway, phone: str):
    async def check():
        found = [m for m in gateway.carrier.sent if m["To"] == phone and m.get("MediaUrl")]
        return found[-1] if found else None
    return check


# --- Retention on a big table while texts are relayed (by hand with 200,000 rows: a 62 s pass, relays at most 0.36 s;
# 20,000 here, for the suite's time) ---

ROWS = 20000


async def test_a_pass_over_many_old_messages_does_not_hold_up_relays(gateway, db):
    cid, conversation = await _talk(gateway)
    await db.execute("UPDATE messages SET created_at = created_at - interval '600 days'")
    await db.execute(
        "INSERT INTO messages (community_id, conversation_id, direction, kind, from_number, to_number, body, status, "
        "created_at) SELECT $1, $2, 'inbound', 'inbound', $3, $4, 'old text ' || n, 'received', "
        "now() - interval '500 days' + n * interval '1 second' FROM generate_series(1, $5) n",
        cid, conversation, ALEX, PROXY, ROWS)
    await db.execute("ANALYZE messages")
    slowest = 0.0

    async def relays():
        nonlocal slowest
        for n in range(1000):
            started = asyncio.get_running_loop().time()
            assert (await gateway.sms(ALEX, PROXY, f"while the pass runs {n}"))[0] == 200
            slowest = max(slowest, asyncio.get_running_loop().time() - started)
            await asyncio.sleep(0.02)

    sending = asyncio.create_task(relays())
    started = asyncio.get_running_loop().time()
    done = await _pass(gateway, body_days=90, row_days=400)
    took = asyncio.get_running_loop().time() - started
    sending.cancel()
    print(f"pass over {ROWS}: {took:.1f} s, {done}, slowest relay {slowest * 1000:.0f} ms")
    assert done["bodies_redacted"] >= ROWS and done["messages_deleted"] >= ROWS
    assert slowest < 1.0, f"a relay waited {slowest:.2f} s behind the pass"


# --- The systemd unit's install steps: `install` into /etc/sms-gateway, which nothing had made ---

def test_the_units_install_steps_make_the_settings_folder():
    header = [line[1:].strip() for line in (DEPLOY / "systemd" / "sms-gateway.service").read_text().splitlines()
              if line.startswith("#")]
    [step] = [line for line in header if "/etc/sms-gateway/gateway.env" in line and line.startswith("install")]
    made = step.startswith("install -D") or any(line.startswith("mkdir -p /etc/sms-gateway") for line in header)
    assert made, f"{step!r} fails: install makes no parent folder without -D"


# --- compose with the example settings: the sandbox posted its status callbacks to https://sms.example.org ---

def test_the_example_settings_let_the_sandbox_call_the_gateway_back_in_compose():
    env = _deployment_environment()
    compose = yaml.safe_load((DEPLOY / "compose" / "compose.yml").read_text())
    config = settings.load(env)
    if "sandbox" in config.carriers:
        host = urlsplit(config.public_url).hostname
        assert host in compose["services"], f"the sandbox calls {config.public_url} back: outside compose"


# --- Erasure: the community's own number is not a person; erasing it blanked every text of the community ---

async def test_erasing_one_of_the_communitys_own_numbers_is_refused(gateway, db):
    cid, conversation = await _talk(gateway)
    bodies = await db.fetchval("SELECT count(*) FROM messages WHERE body <> ''")

    status, body = await gateway.call("POST", f"/v1/communities/{cid}/erasures", {"phone": PROXY})

    assert status == 409 and body["error"]["code"] == "community_number", body
    assert await db.fetchval("SELECT count(*) FROM messages WHERE body <> ''") == bodies
    assert await db.fetchval("SELECT count(*) FROM messages WHERE from_number = $1 OR to_number = $1", PROXY) > 0
    assert await db.fetchval("SELECT count(*) FROM erasures") == 0

"""Settings: the file's defaults, the environment on top, and one clear line for anything wrong."""

import pytest

from gateway.config import DEFAULT_PATH, ConfigError, Config, from_dict, load


def test_config_file_matches_the_defaults():
    assert load({}) == Config()  # config.toml lists every setting with the dataclasses' defaults


def test_environment_overrides_the_file():
    config = load({"DATABASE_URL": "postgresql://u@db:5432/gw", "REDIS_URL": "redis://cache:6379/0",
                   "GATEWAY_HOST": "0.0.0.0", "GATEWAY_PORT": "9000", "GATEWAY_API_TOKEN": "secret",
                   "GATEWAY_PUBLIC_URL": "https://sms.example.org/", "CARRIER": "twilio",
                   "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "tok", "TWILIO_API_BASE": "http://127.0.0.1:1",
                   "GATEWAY_VERIFICATION_SECRET": "0123456789abcdef", "LINE_TYPE_LOOKUP": "offline",
                   "GATEWAY_WEBHOOK_SECRET": "fedcba9876543210",
                   "TWILIO_LOOKUP_BASE": "http://127.0.0.1:2"})
    assert (config.database.url, config.redis.url, config.server.host, config.server.port) == \
        ("postgresql://u@db:5432/gw", "redis://cache:6379/0", "0.0.0.0", 9000)
    assert config.server.api_tokens == {"default": "secret"}
    assert config.public_url == "https://sms.example.org"
    twilio = config.per_carrier["twilio"]
    assert (config.carrier.name, twilio.account_sid, twilio.api_base) == ("twilio", "AC1", "http://127.0.0.1:1")
    assert (config.verification.secret, config.line_type_lookup, twilio.lookup_base) == \
        ("0123456789abcdef", "offline", "http://127.0.0.1:2")


def test_line_type_lookup_follows_the_carrier():
    assert load({}).line_type_lookup == "sandbox"
    assert load({"CARRIER": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t",
                 "GATEWAY_VERIFICATION_SECRET": "x" * 16, "GATEWAY_WEBHOOK_SECRET": "y" * 16}).line_type_lookup \
        == "twilio"


def test_each_carrier_reads_its_own_table_and_variables(tmp_path):
    other = tmp_path / "other.toml"
    other.write_text('[sandbox]\nauth_token = "from-file"\ndelivery_delay = 0.5\n'
                     '[twilio]\nlookup_base = "http://l:1"\n')
    config = load({"GATEWAY_CONFIG": str(other), "SANDBOX_DELIVERY_DELAY": "0.25", "TWILIO_API_BASE": "http://a:2"})
    assert config.per_carrier["sandbox"].auth_token == "from-file"
    assert config.per_carrier["sandbox"].delivery_delay == 0.25  # the environment over the file
    twilio = config.per_carrier["twilio"]
    assert (twilio.api_base, twilio.lookup_base) == ("http://a:2", "http://l:1")
    assert config.replace(sandbox={"auth_token": "t2"}).per_carrier["sandbox"].auth_token == "t2"


def test_a_real_carrier_beside_the_sandbox_needs_its_credentials_and_the_secrets():
    missing_token = r"^twilio\.auth_token \(TWILIO_AUTH_TOKEN\): required when twilio is a carrier$"
    with pytest.raises(ConfigError, match=missing_token):
        load({"CARRIERS_ALSO": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "SANDBOX_AUTH_TOKEN": "our-own-sandbox-token"})
    with pytest.raises(ConfigError, match=r"GATEWAY_WEBHOOK_SECRET.*when twilio is a carrier"):
        load({"CARRIERS_ALSO": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t",
              "GATEWAY_VERIFICATION_SECRET": "x" * 16, "SANDBOX_AUTH_TOKEN": "our-own-sandbox-token"})
    assert load({}).carriers == ("sandbox",)  # the sandbox alone needs neither


def test_public_url_defaults_to_host_and_port():
    assert load({"GATEWAY_PORT": "9001"}).public_url == "http://127.0.0.1:9001"


def test_gateway_config_names_another_file(tmp_path):
    other = tmp_path / "other.toml"
    other.write_text('[server]\nport = 9100\n[relay]\nunrouted_reply = "Not here."\n')
    config = load({"GATEWAY_CONFIG": str(other)})
    assert (config.server.port, config.relay.unrouted_reply) == (9100, "Not here.")


@pytest.mark.parametrize("env, names", [
    ({"GATEWAY_PORT": "eighty"}, "server.port"),
    ({"GATEWAY_PORT": "70000"}, "GATEWAY_PORT"),
    ({"CARRIER": "pigeon"}, "CARRIER"),
    ({"CARRIER": "twilio"}, "TWILIO_ACCOUNT_SID"),
    ({"CARRIER": "twilio", "TWILIO_ACCOUNT_SID": "AC1"}, "TWILIO_AUTH_TOKEN"),
    ({"CARRIER": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"}, "GATEWAY_VERIFICATION_SECRET"),
    ({"CARRIER": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t",
      "GATEWAY_VERIFICATION_SECRET": "x" * 16}, "GATEWAY_WEBHOOK_SECRET"),
    ({"LINE_TYPE_LOOKUP": "magic"}, "LINE_TYPE_LOOKUP"),
    ({"LINE_TYPE_LOOKUP": "twilio"}, "LINE_TYPE_LOOKUP"),
    ({"LINE_TYPE_LOOKUP": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t",
      "TWILIO_LOOKUP_BASE": "lookups.example"}, "twilio.lookup_base (TWILIO_LOOKUP_BASE)"),
    ({"CARRIER": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t", "TWILIO_API_BASE": "api.example"},
     "twilio.api_base (TWILIO_API_BASE)"),
    ({"CARRIERS_ALSO": "sandbox,pigeon"}, "CARRIERS_ALSO"),
    ({"SANDBOX_DELIVERY_DELAY": "soon"}, "sandbox.delivery_delay"),
    ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
    ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
    ({"GATEWAY_PUBLIC_URL": "sms.example.org"}, "GATEWAY_PUBLIC_URL"),
    ({"GATEWAY_CONFIG": "/nonexistent.toml"}, "GATEWAY_CONFIG"),
    # What Python's int() and float() take but nobody means in a setting.
    ({"GATEWAY_PORT": "8_081"}, "server.port"),
    ({"GATEWAY_SERVER__PORT": " 8081"}, "server.port"),
    ({"GATEWAY_SERVER__PORT": "\u0668\u0660\u0668\u0661"}, "server.port"),
    ({"GATEWAY_QUEUE__LEASE_SECONDS": "inf"}, "queue.lease_seconds"),
    ({"GATEWAY_QUEUE__LEASE_SECONDS": "nan"}, "queue.lease_seconds"),
    ({"GATEWAY_QUEUE__LEASE_SECONDS": "1_5"}, "queue.lease_seconds"),
    ({"GATEWAY_LIMITS__DAILY_LEVELS": "200,4_00"}, "GATEWAY_LIMITS__DAILY_LEVELS"),
])
def test_bad_settings_name_themselves(env, names):
    with pytest.raises(ConfigError) as error:
        load(env)
    assert names in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("raw, names", [
    ({"server": {"prot": 1}}, "server.prot"),
    ({"sever": {}}, "sever"),
    ({"queue": {"concurrency": 0}}, "queue.concurrency"),
    ({"database": {"migrate_on_start": "maybe"}}, "database.migrate_on_start"),
    ({"log": {"level": "loud"}}, "log.level"),
    ({"relay": {"default_region": "usa"}}, "relay.default_region"),
    ({"queue": {"lease_seconds": 5}, "carrier": {"send_timeout": 10}}, "queue.lease_seconds"),
    ({"server": {"api_tokens": {"web": 5}}}, "server.api_tokens"),
    ({"limits": {"daily_levels": [200, -1]}}, "limits.daily_levels"),
    ({"limits": {"daily_levels": []}}, "limits.daily_levels"),
    ({"sandbox": {"delivery_delay": 0}}, "sandbox.delivery_delay"),
    ({"twilio": {"auth_tokn": "t"}}, "twilio.auth_tokn"),
    ({"twilio": "AC1"}, "twilio"),
    ({"carrier": {"sandbox_auth_token": "t"}}, "carrier.sandbox_auth_token"),  # moved to [sandbox] auth_token
    ({"lookup": {"base": "http://l:1"}}, "lookup.base"),  # moved to [twilio] lookup_base
])
def test_bad_file_settings_name_themselves(raw, names):
    with pytest.raises(ConfigError, match=names.replace(".", r"\.")):
        from_dict(raw)


@pytest.mark.parametrize("line", [line for line in DEFAULT_PATH.read_text().splitlines()
                                  if "=" in line and not line.lstrip().startswith("#")])
def test_every_setting_in_the_file_has_a_comment(line):
    assert "#" in line, f"config.toml: no comment on {line!r}"


def test_the_sandbox_beside_a_real_carrier_needs_its_own_token():
    """Its default token is in the source: beside twilio, anyone could sign texts and statuses as the sandbox."""
    env = {"CARRIER": "twilio", "CARRIERS_ALSO": "sandbox", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t",
           "GATEWAY_VERIFICATION_SECRET": "x" * 16, "GATEWAY_WEBHOOK_SECRET": "y" * 16}
    with pytest.raises(ConfigError, match=r"sandbox.auth_token \(SANDBOX_AUTH_TOKEN\): set your own"):
        load(env)
    assert load({**env, "SANDBOX_AUTH_TOKEN": "our-own-sandbox-token"}).carriers == ("twilio", "sandbox")
    assert load({}).carriers == ("sandbox",)  # alone it reaches no phone: its default token is fine

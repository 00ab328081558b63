"""A newcomer tried issue 17 (heap-only status updates, the second try of a message being sent, ASCII numbers in the
environment, the message path's own pool) and broke it; each test here is one thing that broke."""

import pytest

from gateway.config import ConfigError, load


@pytest.mark.parametrize("variable", ["GATEWAY_LIMITS__DAILY_CEILING", "GATEWAY_COMPLIANCE__MONITOR_MIN_SENT",
                                      "GATEWAY_CARRIER__MAX_ATTEMPTS", "GATEWAY_DATABASE__POOL_MAX"])
def test_a_whole_number_past_what_postgres_binds_stops_start_up(variable):
    """ASCII digits alone let 2147483648 through: begin_send binds limits.daily_ceiling as an integer, so every
    send crashed on Postgres's range (messages never sent) instead of start-up naming the setting."""
    with pytest.raises(ConfigError, match=variable.removeprefix("GATEWAY_").lower().replace("__", ".")):
        load({variable: "2147483648"})


def test_a_daily_level_past_what_postgres_binds_stops_start_up():
    with pytest.raises(ConfigError, match="limits.daily_levels"):
        load({"GATEWAY_LIMITS__DAILY_LEVELS": "200,2147483648"})


def test_the_embedded_redis_port_is_a_port():
    with pytest.raises(ConfigError, match="embedded.redis_port"):
        load({"GATEWAY_EMBEDDED__REDIS_PORT": "70000"})

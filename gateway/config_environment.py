"""Every setting from the environment by one naming rule. config.py hands the environment in: this module reads
none itself."""

from __future__ import annotations

import json
import typing
from typing import Any, Mapping

from gateway.config_values import ConfigError

RULE_PREFIX, RULE_SEPARATOR = "GATEWAY_", "__"


def rule_variable(section: str, setting: str) -> str:
    """Every setting's environment variable by one rule: GATEWAY_<SECTION>__<SETTING>, e.g. GATEWAY_QUEUE__CONCURRENCY
    for queue.concurrency and GATEWAY_TWILIO__AUTH_TOKEN for twilio.auth_token."""
    return f"{RULE_PREFIX}{section}{RULE_SEPARATOR}{setting}".upper()


def by_rule(env: Mapping[str, str], sections: Mapping[str, type]) -> dict[str, tuple[str, str, Any]]:
    """The variables named by the rule among env: variable -> (section, setting, value); sections: every
    section's name -> its settings class. A list is written "200,400,600",
    a table (server.api_tokens) as JSON. ConfigError for a variable of the rule's shape that names no setting:
    a typo must not pass unnoticed."""
    known = {rule_variable(section, setting): (section, setting, kind)
             for section, settings in sections.items()
             for setting, kind in typing.get_type_hints(settings).items()}
    found = {}
    for variable, text in env.items():
        if not variable.startswith(RULE_PREFIX) or RULE_SEPARATOR not in variable:
            continue
        if variable not in known:
            raise ConfigError(f"{variable}: names no setting (the rule is GATEWAY_<SECTION>__<SETTING>; see "
                              "`sms-gateway --help`)")
        section, setting, kind = known[variable]
        found[variable] = (section, setting, _parse_text(variable, kind, text))
    return found


def _parse_text(variable: str, kind: type, text: str) -> Any:
    """An environment variable's text as the setting's kind wants it; coerce() checks the rest."""
    if kind is list:
        try:
            return [int(part) for part in text.split(",")]
        except ValueError:
            raise ConfigError(f"{variable}: expected whole numbers separated by commas, got {text!r}") from None
    if kind is dict:
        try:
            return json.loads(text)
        except ValueError:
            raise ConfigError(f"{variable}: expected a JSON object, e.g. {{\"platform\": \"...\"}}") from None
    return text


def help_text(named: Mapping[str, tuple[str, str]], sections: Mapping[str, type]) -> str:
    """--help's list: the named variables (variable -> (section, setting)), then every setting by the rule."""
    lines = [f"  {variable:<32} {section}.{name}" for variable, (section, name) in named.items()]
    lines.append(f"  {'GATEWAY_API_TOKEN':<32} adds 'default' to server.api_tokens")
    lines.append(f"  {'GATEWAY_CONFIG':<32} the settings file (default ./config.toml)")
    ruled = [f"  {rule_variable(section, setting)}" for section, settings in sections.items()
             for setting in typing.get_type_hints(settings)]
    return "\n".join(["environment variables:", *lines, "",
                      "every setting, by the rule GATEWAY_<SECTION>__<SETTING> (lists: 1,2,3; tables: JSON):",
                      *ruled])

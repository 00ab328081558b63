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
    a table (server.api_tokens) as JSON; an empty one is left out (unset). ConfigError for a variable of the rule's shape that names no setting:
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
        if text == "":
            continue  # unset, as an empty variable of the older names is
        section, setting, kind = known[variable]
        found[variable] = (section, setting, _parse_text(variable, kind, text))
    return found


def _parse_text(variable: str, kind: type, text: str) -> Any:
    """An environment variable's text as the setting's kind wants it; coerce() checks the rest."""
    if kind is list:
        parts = text.split(",")
        if all(part.isascii() and part.isdigit() for part in parts):  # int() would also take "1_0" and " 1"
            return [int(part) for part in parts]
        raise ConfigError(f"{variable}: expected whole numbers separated by commas, got {text!r}")
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


def apply(env: Mapping[str, str], raw: dict[str, Any], named: Mapping[str, tuple[str, str]],
          sections: Mapping[str, type]) -> None:
    """The named variables (variable -> (section, setting)), then the rule's, into raw. An empty variable is unset,
    by any name (an env file's "GATEWAY_SERVER__HOST=" must not mean every interface). Two variables for one
    setting that disagree stop start-up: which one wins would be a guess."""
    by_setting = {}
    for variable, (section, name) in named.items():
        if env.get(variable):
            raw.setdefault(section, {})[name] = env[variable]
            by_setting[section, name] = variable
    for variable, (section, name, value) in by_rule(env, sections).items():
        other = by_setting.get((section, name))
        if other is not None and env[other] != env[variable]:
            raise ConfigError(f"{variable} and {other}: both set {section}.{name}, to different values; keep one")
        raw.setdefault(section, {})[name] = value

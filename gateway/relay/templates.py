"""Template bodies with merge fields: which fields a body names, and a body rendered for one recipient. Pure.

A merge field is a lower-case name in braces, `{first_name}` (a letter, then letters, digits or underscores; at
most 64). Any other brace is text: `{Name}`, `{ }` and a lone `{` are sent as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

FIELD = re.compile(r"\{([a-z][a-z0-9_]{0,63})\}")


class MissingFields(Exception):
    """A body names fields the recipient has no value for: names, in the order the body first names them."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


def merge_fields(body: str) -> list[str]:
    """The fields a body names, each once, in the order of first use."""
    return list(dict.fromkeys(FIELD.findall(body)))


def render(body: str, values: Mapping[str, str]) -> str:
    """The body with each field replaced by its value (a value is put in as it is: never read as a template).
    MissingFields when a named field has no value, or an empty or blank one."""
    missing = [name for name in merge_fields(body) if not str(values.get(name) or "").strip()]
    if missing:
        raise MissingFields(missing)
    return FIELD.sub(lambda match: str(values[match.group(1)]), body)

"""A contact's data (name, merge fields, tags, preference) as the API and the CSV import and export take it. Pure.

The CSV's columns: phone (required), name, preference, tags (joined with ';'), the columns the export adds that an
import reads past (when the preference changed and how, DND, ...), and every other column is a merge field: the
export names them `field.first_name`; an import takes `field.first_name` or `first_name` alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.errors import InvalidInput
from gateway.vocabulary import Preference

FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")  # as a template names a merge field (relay/templates.py)
FIELD_PREFIX = "field."
MAX_FIELDS = 50
MAX_VALUE = 500  # a merge field's value, in characters
MAX_NAME = 100
MAX_TAG, MAX_TAGS = 40, 50
TAG_SEPARATOR = ";"
# What a contact is in the CSV, in the export's order; then the columns an import reads past (what the gateway
# records itself), then one column per merge field.
COLUMNS = ("phone", "name", "preference", "tags", "marketing_preference")
RECORDED = ("preference_changed_at", "preference_keyword", "preference_source", "dnd", "dnd_reason", "dnd_at",
            "first_inbound_at", "created_at", "updated_at")
# What the API and an import may set: a preference captured by the platform (an unknown one is not a change).
SETTABLE = {Preference.OPTED_IN.value, Preference.OPTED_OUT.value}
# A cell a spreadsheet would run as a formula (CSV injection, OWASP) starts with one of these; the export puts a ' before
# it (and before a cell that starts with ' already, so that an import takes exactly one off: an export imports back).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


@dataclass(frozen=True)
class Change:
    """What one PUT, PATCH or CSV row changes: None leaves a part as it is; a field set to None is removed."""

    phone: str
    name: str | None = None  # "" removes the name
    fields: dict[str, str | None] | None = None
    tags: list[str] | None = None
    preference: str | None = None  # opted_in, opted_out
    marketing_preference: str | None = None  # the same, for marketing sends (README "Separate numbers for marketing")


def _printable(value: str) -> bool:
    return not any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in value)


def check_name(value: str, where: str = "name") -> str:
    """A name: stripped, at most MAX_NAME characters, one line; "" means none."""
    value = value.strip()
    if len(value) > MAX_NAME or not _printable(value):
        raise InvalidInput("invalid_field", f"{where}: at most {MAX_NAME} characters on one line")
    return value


def check_field_name(name: str, where: str) -> str:
    if not FIELD_NAME.match(name):
        raise InvalidInput("invalid_field", f"{where}: {name[:70]!r} is not a merge field name (a lower-case letter, "
                                            "then lower-case letters, digits or _; at most 64)")
    return name


def check_field_names(values: Mapping[str, Any], where: str) -> None:
    """Each key a merge field's name (a send's data: its values are checked by its type)."""
    for name in values:
        check_field_name(name, f"{where}.{name[:70]}")


def check_fields(fields: Mapping[str, Any], where: str = "fields", removable: bool = False) -> dict[str, Any]:
    """Merge fields: names as templates name them, values strings of one line (removable: None removes one)."""
    if len(fields) > MAX_FIELDS:
        raise InvalidInput("invalid_field", f"{where}: at most {MAX_FIELDS} fields")
    checked: dict[str, Any] = {}
    for name, value in fields.items():
        check_field_name(name, f"{where}.{name[:70]}")
        if value is None and removable:
            checked[name] = None
            continue
        if not isinstance(value, str) or len(value) > MAX_VALUE or not _printable(value):
            raise InvalidInput("invalid_field", f"{where}.{name}: expected a text of at most {MAX_VALUE} characters "
                                                "on one line" + (" (or null to remove it)" if removable else ""))
        checked[name] = value.strip()
    return checked


def check_tags(tags: Sequence[Any], where: str = "tags") -> list[str]:
    """Tags: each 1 to MAX_TAG characters, one line, without ';' (the CSV's separator); each kept once, in order."""
    if len(tags) > MAX_TAGS:
        raise InvalidInput("invalid_field", f"{where}: at most {MAX_TAGS} tags")
    for i, tag in enumerate(tags):
        if not isinstance(tag, str) or not 0 < len(tag.strip()) <= MAX_TAG or TAG_SEPARATOR in tag \
                or not _printable(tag):
            raise InvalidInput("invalid_field", f"{where}[{i}]: expected 1 to {MAX_TAG} characters on one line, "
                                                f"without '{TAG_SEPARATOR}'")
    return list(dict.fromkeys(tag.strip() for tag in tags))


@dataclass(frozen=True)
class Columns:
    """Where each part of a contact is in an import's rows (None: the file does not say, so it stays as it is)."""

    phone: int
    name: int | None
    preference: int | None
    tags: int | None
    fields: dict[str, int]
    marketing_preference: int | None = None
    width: int = 1  # the header's cells: a row with text beyond them is refused (its cells are out of place)

    @classmethod
    def of(cls, header: Sequence[str]) -> Columns:
        """The header row read: InvalidInput (invalid_csv) for no phone column, a column named twice, or a merge
        field column whose name is not a merge field's."""
        names = [name.strip().lstrip("\ufeff").lower() for name in header]
        if "phone" not in names:
            raise InvalidInput("invalid_csv", "the first row must name the columns, one of them phone")
        seen: dict[str, int] = {}  # a contact's own column by its name; a merge field's as field.<name>
        for i, name in enumerate(names):
            key = name if name in COLUMNS or name in RECORDED else FIELD_PREFIX + name.removeprefix(FIELD_PREFIX)
            if key in seen:
                raise InvalidInput("invalid_csv", f"column {i + 1} ({name[:70]!r}): the same column twice")
            seen[key] = i
        fields = {key.removeprefix(FIELD_PREFIX): i for key, i in seen.items() if key.startswith(FIELD_PREFIX)}
        for key, i in fields.items():
            if not FIELD_NAME.match(key):
                raise InvalidInput("invalid_csv", f"column {i + 1} ({names[i][:70]!r}): not a merge field name (a "
                                                  "lower-case letter, then lower-case letters, digits or _; at most 64)")
        if len(fields) > MAX_FIELDS:
            raise InvalidInput("invalid_csv", f"at most {MAX_FIELDS} merge field columns")
        return cls(seen["phone"], seen.get("name"), seen.get("preference"), seen.get("tags"), fields,
                   seen.get("marketing_preference"), len(names))


def spreadsheet_safe(value: str) -> str:
    """A cell of the person's data as the export writes it: never a formula for the spreadsheet that opens it."""
    return QUOTE + value if value.startswith((*FORMULA_STARTS, QUOTE)) else value


def spreadsheet_value(cell: str) -> str:
    """What spreadsheet_safe wrote, read back (a ' before a formula's first character or a ' is taken off)."""
    return cell[1:] if cell.startswith(QUOTE) and cell[1:].startswith((*FORMULA_STARTS, QUOTE)) else cell


class RowRefused(Exception):
    """A row of an import that is not stored: why, in words."""


def read_row(cells: Sequence[str], columns: Columns, phone_of: Callable[[str], str]) -> Change:
    """One CSV row as a Change; RowRefused naming what is wrong (text beyond the header's columns too). An empty
    cell removes a name, a field or the tags; an empty (or unknown) preference leaves it as it is. phone_of parses
    and judges the phone (InvalidInput)."""
    def cell(index: int | None) -> str | None:
        return None if index is None else spreadsheet_value(cells[index] if index < len(cells) else "")
    _refuse_beyond(cells, columns.width)
    try:
        phone = phone_of(cell(columns.phone).strip())
        name = None if columns.name is None else check_name(cell(columns.name))
        fields = check_fields({key: (cell(i).strip() or None) for key, i in columns.fields.items()}, removable=True)
        raw_tags = cell(columns.tags)
        tags = None if raw_tags is None else check_tags([t for t in raw_tags.split(TAG_SEPARATOR) if t.strip()])
    except InvalidInput as refused:
        raise RowRefused(refused.message) from None
    return Change(phone, name, fields or None, tags, _preference(cell(columns.preference), "preference"),
                  _preference(cell(columns.marketing_preference), "marketing_preference"))


def _refuse_beyond(cells: Sequence[str], width: int) -> None:
    """RowRefused for text in a cell the header names no column for: the row's cells are out of place (a comma in
    a cell not quoted, most often), so no cell of it can be trusted to be what its column says. Empty cells there
    (a trailing comma) carry nothing and are read past."""
    beyond = [str(i + 1) for i in range(width, len(cells)) if cells[i].strip()]
    if beyond:
        many = len(beyond) > 1
        raise RowRefused(f"{len(beyond)} cell{'s' if many else ''} beyond the header's {width} columns (column"
                         f"{'s' if many else ''} {', '.join(beyond[:5])}{', ...' if len(beyond) > 5 else ''}): a "
                         "comma in a cell not quoted? Quote that cell, or name the column in the header")


def _preference(cell: str | None, column: str) -> str | None:
    """A preference cell: opted_in or opted_out; empty or unknown (or no such column) leaves it as it is."""
    preference = (cell or "").strip().lower() or None
    if preference not in (None, Preference.UNKNOWN.value, *SETTABLE):
        raise RowRefused(f"{column}: expected {', '.join(sorted(SETTABLE))} or empty")
    return preference if preference in SETTABLE else None


def header(field_names: Sequence[str]) -> list[str]:
    """The export's first row."""
    return [*COLUMNS, *RECORDED, *(FIELD_PREFIX + name for name in field_names)]


def row(contact: Any, field_names: Sequence[str]) -> list[str]:
    """A contact (gateway/storage/contacts.py Contact) as an export row."""
    def text(value: Any) -> str:
        return "" if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)
    return [contact.phone, spreadsheet_safe(contact.name or ""), contact.preference,
            spreadsheet_safe(TAG_SEPARATOR.join(contact.tags)), contact.marketing_preference,
            *(text(getattr(contact, name)) for name in RECORDED),
            *(spreadsheet_safe(contact.fields.get(name, "")) for name in field_names)]

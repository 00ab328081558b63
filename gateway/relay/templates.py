"""Template bodies with merge fields: which fields a body names, and a body rendered for one recipient. Pure.

A merge field is a lower-case name in braces, `{first_name}` (a letter, then letters, digits or underscores; at
most 64). Any other brace is text: `{Name}`, `{ }` and a lone `{` are sent as written (a template with them is
taken, as text may hold braces); a preview warns of a name in braces that is no field's (unfillable()) and of a
field in two pairs of braces, whose value is sent in braces (doubled()).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from gateway.relay import segments
from gateway.vocabulary import TemplateState

FIELD = re.compile(r"\{([a-z][a-z0-9_]{0,63})\}")
# A name in braces that is no merge field's ({First_Name}, {firstName}, {first name}, { first_name }): text by the
# rule above, so sent as written and never filled; almost always meant as a field, so a preview warns of it.
LOOKALIKE = re.compile(r"\{\s*[A-Za-z_][A-Za-z0-9_ .-]{0,63}\}")
# A field in two pairs of braces, as Mustache, Liquid and Jinja write one: filled inside the outer pair, so the text
# shows the value in braces ("{Ana}"); a preview warns of it.
DOUBLED = re.compile(r"\{(\{[a-z][a-z0-9_]{0,63}\})\}")


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


def unfillable(body: str) -> list[str]:
    """The placeholders that look like a merge field but are not one (sent as written, never filled), each once, in
    the order of first use: `{First_Name}`."""
    return list(dict.fromkeys(m.group(0) for m in LOOKALIKE.finditer(body) if not FIELD.fullmatch(m.group(0))))


def unfillable_warning(placeholder: str) -> str:
    """A sentence: why the placeholder is never filled, and the field it likely means ("{First_Name} ...; write
    {first_name}")."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", placeholder[1:-1].strip())  # firstName: first_Name
    name = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    hint = f"; write {{{name}}}" if FIELD.fullmatch(f"{{{name}}}") else ""
    return (f"{placeholder} is not a merge field (a lower-case letter, then lower-case letters, digits or _, in "
            f"braces): it is sent as written, never filled{hint}")


def doubled(body: str) -> list[str]:
    """The fields written in two pairs of braces (`{{first_name}}`), each once, in the order of first use."""
    return list(dict.fromkeys(m.group(0) for m in DOUBLED.finditer(body)))


def doubled_warning(placeholder: str) -> str:
    """A sentence: what the text shows for a field in two pairs of braces, and how to write it."""
    return (f"{placeholder} is a merge field in two pairs of braces: the text shows its value in braces "
            f"({{value}}); write {placeholder[1:-1]}")


# --- Preview ----------------------------------------------------------------------------------------------------

# What a character that makes a text UCS-2 can be written as in GSM-7 (typographic quotes and dashes come from word
# processors and phones' "smart punctuation").
LOOKALIKES = {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u201c": '"', "\u201d": '"',
              "\u201e": '"', "\u2033": '"', "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2026": "...",
              "\u00a0": " ", "\u2009": " ", "\u200b": ""}


@dataclass(frozen=True)
class Text:
    """A text as the carrier bills it."""

    text: str
    characters: int  # UTF-16 code units, as the carrier counts
    segments: int
    encoding: str  # "GSM-7" or "UCS-2"
    non_gsm: list[str]  # the characters that make it UCS-2, each once

    @classmethod
    def of(cls, text: str) -> Text:
        return cls(text, segments.length(text), segments.count(text),
                   "GSM-7" if segments.is_gsm7(text) else "UCS-2", segments.non_gsm_characters(text))


@dataclass(frozen=True)
class Preview:
    text: Text  # the body with the sample data (a field without a value shown as its placeholder)
    fields: list[str]  # the fields the body names
    missing: list[str]  # those the sample data gives no value for
    warnings: list[str]  # in plain words: missing fields, what makes it UCS-2, what the carrier refuses
    first_text: Text | None  # as the first text to a phone that never wrote to the community: identified


def preview(body: str, values: Mapping[str, str], identification: str | None = None) -> Preview:
    """The body rendered with sample values, counted as the carrier bills it, with warnings. identification: the
    community's sender identification with the sender's name in it ("Acme: {message} Reply STOP to opt out.")."""
    missing = [name for name in merge_fields(body) if not str(values.get(name) or "").strip()]
    text = FIELD.sub(lambda m: m.group(0) if m.group(1) in missing else str(values[m.group(1)]), body)
    shown = Text.of(text)
    warnings = [f"no sample value for {name}: shown as {{{name}}}" for name in missing]
    warnings += [unfillable_warning(placeholder) for placeholder in unfillable(body)]
    warnings += [doubled_warning(placeholder) for placeholder in doubled(body)]
    if shown.non_gsm:
        warnings.append(ucs2_warning(text))
    refused = segments.unsendable(text)
    if refused is not None:
        warnings.append(refused[1])
    first = None if identification is None else Text.of(identification.replace("{message}", text))
    return Preview(shown, merge_fields(body), missing, warnings, first)


def ucs2_warning(text: str) -> str:
    """A sentence: which characters make the text UCS-2, and what that costs, e.g. "’ (U+2019) makes this text
    UCS-2: 2 segments instead of 1 (write ' instead)"."""
    chars = segments.non_gsm_characters(text)
    named = [f"{c} (U+{ord(c):04X})" for c in chars]
    gsm = "".join(LOOKALIKES.get(c, c if c not in chars else "?") for c in text)
    instead = segments.count(text), segments.count(gsm)
    verb = "makes" if len(chars) == 1 else "make"
    cost = (f"{instead[0]} segments instead of {instead[1]}" if instead[0] > instead[1] else
            f"still {instead[0]} segment{'s' if instead[0] > 1 else ''}, but 70 characters a segment instead of 160")
    sentence = f"{', '.join(named[:-1]) + ' and ' if len(named) > 1 else ''}{named[-1]} {verb} this text UCS-2: {cost}"
    hints = [f"{LOOKALIKES[c] or 'nothing'} for {c}" for c in chars if c in LOOKALIKES]
    return sentence + (f" (write {', '.join(hints)})" if hints else "")


# --- Review -----------------------------------------------------------------------------------------------------

# action -> (the states it starts from, the state it leaves). Only a submitted template is approved or rejected:
# approving a draft would skip the step where its author says "this is ready".
REVIEW = {
    "submit": ({TemplateState.DRAFT, TemplateState.REJECTED}, TemplateState.SUBMITTED),
    "approve": ({TemplateState.SUBMITTED}, TemplateState.APPROVED),
    "reject": ({TemplateState.SUBMITTED}, TemplateState.REJECTED),
}


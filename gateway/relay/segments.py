"""How many SMS segments a body costs: GSM-7 (with its extension table) or UCS-2, split as carriers split."""

from __future__ import annotations

import unicodedata

# GSM 03.38 basic table (the escape character 0x1B is not a character of its own).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs two septets (escape + character) and is never split across parts.
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def is_gsm7(body: str) -> bool:
    return all(c in GSM_BASIC or c in GSM_EXTENSION for c in body)


def non_gsm_characters(body: str) -> list[str]:
    """The characters that make a body UCS-2 (a curly quote, an emoji...), each once, in order of first use:
    one of them halves a segment's room (160 characters to 70)."""
    return list(dict.fromkeys(c for c in body if c not in GSM_BASIC and c not in GSM_EXTENSION))


def count(body: str) -> int:
    """Segments the carrier will bill for this body (an empty body is one)."""
    if is_gsm7(body):
        sizes = [2 if c in GSM_EXTENSION else 1 for c in body]
        single, part = GSM_SINGLE, GSM_PART
    else:
        # UTF-16 code units: a character outside the Basic Multilingual Plane is a surrogate pair.
        sizes = [2 if ord(c) > 0xFFFF else 1 for c in body]
        single, part = UCS2_SINGLE, UCS2_PART
    if sum(sizes) <= single:
        return 1
    parts, room = 1, part
    for size in sizes:
        if size > room:  # it does not fit whole: it starts the next part
            parts, room = parts + 1, part
        room -= size
    return parts


# Twilio refuses a body longer than 1,600 characters (Messages resource, Body: "up to 1,600 characters"). We
# count UTF-16 code units, so an emoji counts two: the stricter reading, never one the carrier refuses.
MAX_BODY = 1600


def length(body: str) -> int:
    """The body's length in UTF-16 code units (a character outside the BMP is a surrogate pair: two)."""
    return len(body) + sum(1 for c in body if ord(c) > 0xFFFF)


def unsendable(body: str) -> tuple[str, str] | None:
    """(error code, reason) for a body no carrier takes: empty or blank, or over MAX_BODY; None when it is fine."""
    if not body.strip():
        return "body_empty", "the message has no text (an empty SMS is refused by the carrier)"
    if length(body) > MAX_BODY:
        return "body_too_long", f"the message is {length(body)} characters; the carrier takes at most {MAX_BODY}"
    return None


def _joins_previous(char: str) -> bool:
    """A character that belongs to the one before it: a combining mark, variation selector, joiner or skin tone."""
    return unicodedata.combining(char) != 0 or unicodedata.category(char) in ("Mn", "Me", "Cf") \
        or 0x1F3FB <= ord(char) <= 0x1F3FF


def split(text: str, room: int) -> list[str]:
    """Cut text into parts of at most room UTF-16 code units each, in order.

    A part ends at the last space that fits (the spaces at the cut are dropped); a word longer than a whole
    part is cut inside, but never inside a surrogate pair, never before a combining mark, joiner or variation
    selector (so "é" written as e + U+0301 and most emoji stay whole), unless one such cluster alone is longer
    than room. A text that fits is returned as it is; an empty or blank text gives no parts.
    Raises ValueError for room < 2 (a surrogate pair must fit).
    """
    if room < 2:
        raise ValueError("room must hold at least one surrogate pair")
    if not text.strip():
        return []
    parts: list[str] = []
    rest = text
    while length(rest) > room:
        fit, used = 0, 0  # how many characters fit, and their code units
        while used + (2 if ord(rest[fit]) > 0xFFFF else 1) <= room:
            used += 2 if ord(rest[fit]) > 0xFFFF else 1
            fit += 1
        space = max(rest.rfind(" ", 0, fit + 1), rest.rfind("\n", 0, fit + 1))
        if space > 0 and rest[:space].strip():
            cut, skip = space, space + 1
        else:
            cut = fit
            while cut > 1 and _joins_previous(rest[cut]) or cut > 1 and rest[cut - 1] == "\u200d":
                cut -= 1
            if _joins_previous(rest[cut]) or rest[cut - 1] == "\u200d":
                cut = fit  # one cluster longer than a part: cut it rather than never end
            skip = cut
        parts.append(rest[:cut].rstrip())
        rest = rest[skip:].lstrip()
    if rest:
        parts.append(rest)
    return [part for part in parts if part]

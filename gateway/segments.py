"""How many SMS segments a body costs: GSM-7 (with its extension table) or UCS-2, split as carriers split."""

from __future__ import annotations

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

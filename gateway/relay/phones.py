"""Phone numbers: every number that enters the gateway is parsed here and leaves as E.164."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

from gateway.errors import InvalidInput


def to_e164(raw: object, *, field: str, region: str | None = None) -> str:
    """Parse a phone number; raises InvalidInput (422) saying why it is not one."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput("invalid_number", f"{field}: expected a phone number")
    if len(raw) > 40:
        raise InvalidInput("invalid_number", f"{field}: too long to be a phone number")
    e164, problem = _parse(raw, region)
    if problem:
        raise InvalidInput("invalid_number", f"{field}: {problem}")
    return e164


# Every inbound message parses its two numbers, and the same numbers come back all day: parsing is a
# twentieth of a webhook's time, a cached answer almost nothing.
@lru_cache(maxsize=16384)
def _parse(raw: str, region: str | None) -> tuple[str, str]:
    """(E.164, "") or ("", why it is not a phone number)."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        return "", _reason(exc)
    if not phonenumbers.is_valid_number(number):
        return "", f"{raw!r} is not a valid phone number"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ""


def _reason(exc: phonenumbers.NumberParseException) -> str:
    reasons = {
        phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "missing or unknown country code (use +1...)",
        phonenumbers.NumberParseException.NOT_A_NUMBER: "not a phone number",
        phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
        phonenumbers.NumberParseException.TOO_LONG: "too long",
    }
    return reasons.get(exc.error_type, "not a phone number")


def mask(phone: str | None) -> str | None:
    """+14155552671 -> +1415***2671: enough to tell numbers apart in logs and labels, not enough to text them. At
    least 3 digits are hidden whatever the length (a short number, +50051234 -> +500***34, showed them all), and
    at most 4 shown at either end. Anything shorter than 9 characters that is not E.164 is left as it came."""
    if not phone or (len(phone) < 9 and not phone.startswith("+")):
        return phone
    digits = phone[1:] if phone.startswith("+") else phone
    hidden = max(3, len(digits) - 8)
    last = max(0, min(4, (len(digits) - hidden) // 2))
    first = max(0, len(digits) - hidden - last)
    return f"{phone[:len(phone) - len(digits) + first]}***{phone[len(phone) - last:] if last else ''}"


def can_receive_text(number: str) -> bool:
    """A number we may text back: a valid phone number in E.164, not a short code, an alphanumeric sender ID
    or anything else phonenumbers does not accept as a phone (inbound keeps those as they came)."""
    return number.startswith("+") and len(number) <= 16 and _parse(number, None) == (number, "")

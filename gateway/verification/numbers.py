"""Number validation for every phone that will receive our texts: real, in an enabled country, SMS-capable."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType

from gateway.errors import InvalidInput
from gateway.verification.line_types import LineTypes, NotANumber
from gateway.relay.phones import to_e164
from gateway.storage.communities import Community
from gateway.vocabulary import LineType, UnknownLineType

ACCEPTED = frozenset({LineType.MOBILE, LineType.VOIP, LineType.PERSONAL})
# Line types that cannot receive SMS, and the reason code a refusal carries.
REFUSED = {LineType.LANDLINE: "landline", LineType.TOLL_FREE: "toll_free", LineType.PREMIUM: "premium_rate",
           LineType.SHARED_COST: "shared_cost", LineType.UAN: "uan", LineType.VOICEMAIL: "voicemail",
           LineType.PAGER: "pager"}
# What phonenumbers can tell offline. FIXED_LINE_OR_MOBILE (every US and Canadian number), PERSONAL_NUMBER
# and UNKNOWN are missing on purpose: those are undecided and go to the line-type lookup.
OFFLINE = {PhoneNumberType.FIXED_LINE: LineType.LANDLINE, PhoneNumberType.MOBILE: LineType.MOBILE,
           PhoneNumberType.VOIP: LineType.VOIP, PhoneNumberType.TOLL_FREE: LineType.TOLL_FREE,
           PhoneNumberType.PREMIUM_RATE: LineType.PREMIUM, PhoneNumberType.SHARED_COST: LineType.SHARED_COST,
           PhoneNumberType.PAGER: LineType.PAGER, PhoneNumberType.UAN: LineType.UAN,
           PhoneNumberType.VOICEMAIL: LineType.VOICEMAIL}


@dataclass(frozen=True)
class Policy:
    """A community's rules for the numbers it texts."""

    region: str  # how national formats are read
    countries: tuple[str, ...]  # ISO codes of the countries enabled
    unknown_line_type: UnknownLineType = UnknownLineType.ACCEPT

    @classmethod
    def of(cls, community: Community) -> Policy:
        return cls(community.default_region, tuple(community.countries), community.unknown_line_type)


@dataclass(frozen=True)
class Checked:
    phone: str  # E.164
    country: str
    line_type: LineType  # UNKNOWN when nobody could tell, and the community accepts that


def country_of(e164: str) -> str:
    return phonenumbers.region_code_for_number(phonenumbers.parse(e164)) or "ZZ"


def offline_line_type(e164: str) -> LineType | None:
    """The line type phonenumbers is sure of, or None when only a lookup can tell."""
    return OFFLINE.get(phonenumbers.number_type(phonenumbers.parse(e164)))


async def check(line_types: LineTypes, raw: object, *, field: str, policy: Policy) -> Checked:
    """Parse, place and judge a number; raises InvalidInput (422) with the reason code."""
    phone, country = _placed(raw, field, policy)
    line_type = offline_line_type(phone)
    if line_type is None:
        try:
            line_type = await line_types.line_type(phone)
        except NotANumber:
            raise InvalidInput("invalid_number", f"{field}: the carrier knows no such number") from None
    _refuse(line_type, field)
    if line_type not in ACCEPTED and policy.unknown_line_type == UnknownLineType.REFUSE:
        raise InvalidInput("unknown_line_type", f"{field}: could not tell whether this number can receive texts")
    return Checked(phone, country, line_type if line_type in ACCEPTED else LineType.UNKNOWN)


def check_offline(raw: object, *, field: str, policy: Policy) -> str:
    """As check, but only what phonenumbers tells without the line-type lookup (a contacts import of a million
    rows must not make a million paid lookups; a send judges the line type). The phone in E.164."""
    phone, _ = _placed(raw, field, policy)
    _refuse(offline_line_type(phone), field)
    return phone


def _placed(raw: object, field: str, policy: Policy) -> tuple[str, str]:
    """The phone in E.164 and its country, one the community enables."""
    phone = to_e164(raw, field=field, region=policy.region)
    country = country_of(phone)
    if country not in policy.countries:
        raise InvalidInput("unsupported_country", f"{field}: numbers in {country} are not enabled for this community "
                                                  f"(enabled: {', '.join(policy.countries)})")
    return phone, country


def _refuse(line_type: LineType | None, field: str) -> None:
    if line_type in REFUSED:
        reason = REFUSED[line_type]
        raise InvalidInput(reason, f"{field}: a {reason.replace('_', ' ')} number cannot receive text messages")


def check_countries(value: object, field: str = "countries") -> list[str]:
    """A list of ISO country codes phonenumbers knows, e.g. ["US", "CA", "GB"]."""
    if not isinstance(value, list) or not value or not all(isinstance(c, str) for c in value):
        raise InvalidInput("invalid_field", f"{field}: expected a non-empty list of country codes")
    unknown = [c for c in value if c not in phonenumbers.SUPPORTED_REGIONS]
    if unknown:
        raise InvalidInput("invalid_field", f"{field}: unknown country code {unknown[0]!r} (use ISO codes like US)")
    return sorted(set(value), key=value.index)


def check_region(value: object, field: str = "default_region") -> str:
    if not isinstance(value, str) or value not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput("invalid_field", f"{field}: expected an ISO country code like US")
    return value

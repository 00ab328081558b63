"""Number validation: real-world formats, enabled countries, line types offline and from the lookup, caching."""

import pytest

from gateway.verification import numbers
from gateway.errors import InvalidInput
from gateway.verification.line_types import CACHE_PREFIX
from gateway.verification.numbers import Policy

US_CA = Policy("US", ("US", "CA"))
WITH_GB = Policy("US", ("US", "CA", "GB"))


@pytest.mark.parametrize("raw, policy, expected", [
    ("(415) 555-2671", US_CA, ("+14155552671", "mobile")),  # national format, sandbox lookup: mobile
    ("415.555.2671", US_CA, ("+14155552671", "mobile")),
    ("+1 415 555 2671", US_CA, ("+14155552671", "mobile")),
    ("+1-613-555-0123", US_CA, ("+16135550123", "mobile")),  # Canada
    ("+44 7400 123456", WITH_GB, ("+447400123456", "mobile")),  # UK mobile: phonenumbers knows offline
    ("+44 56 1234 5678", WITH_GB, ("+445612345678", "voip")),
    ("+1 415 555 0942", US_CA, ("+14155550942", "unknown")),  # the sandbox cannot tell: accepted, flagged
])
async def test_accepted_formats(gateway, raw, policy, expected):
    checked = await numbers.check(gateway.line_types, raw, field="phone", policy=policy)
    assert (checked.phone, checked.line_type) == expected


@pytest.mark.parametrize("raw, policy, code", [
    ("+44 20 7183 8750", US_CA, "unsupported_country"),
    ("+44 7400 123456", US_CA, "unsupported_country"),
    ("+44 20 7183 8750", WITH_GB, "landline"),  # FIXED_LINE offline
    ("020 7183 8750", Policy("GB", ("GB",)), "landline"),
    ("+1 800 555 1234", US_CA, "toll_free"),
    ("+1 900 555 1234", US_CA, "premium_rate"),
    ("+44 843 123 4567", WITH_GB, "premium_rate"),
    ("+44 76 4012 3456", WITH_GB, "pager"),
    ("+44 55 1234 5678", WITH_GB, "uan"),
    ("+1 415 555 0042", US_CA, "landline"),  # the sandbox lookup's landline range
    ("+1 415 555 0942", Policy("US", ("US",), "refuse"), "unknown_line_type"),
    ("555", US_CA, "invalid_number"),
    ("hello", US_CA, "invalid_number"),
    ("", US_CA, "invalid_number"),
    ("+1 415 555 26711234", US_CA, "invalid_number"),
    ("+1 415 555 267", US_CA, "invalid_number"),
    ("+999 1234 5678", US_CA, "invalid_number"),
    ("4155552671", Policy("GB", ("US", "GB")), "invalid_number"),  # read as a UK number, which it is not
])
async def test_refused_numbers_say_why(gateway, raw, policy, code):
    with pytest.raises(InvalidInput) as error:
        await numbers.check(gateway.line_types, raw, field="phone", policy=policy)
    assert error.value.code == code and error.value.message.startswith("phone:")


def test_countries_and_regions_are_checked():
    assert numbers.check_countries(["US", "GB", "US"]) == ["US", "GB"]
    with pytest.raises(InvalidInput):
        numbers.check_region("XX")


@pytest.mark.parametrize("bad", [[], ["usa"], "US", [1]])
def test_a_bad_list_of_countries_is_refused(bad):
    with pytest.raises(InvalidInput):
        numbers.check_countries(bad)


async def _twilio_lookup_gateway(start_gateway, fake_lookup, **lookup):
    return await start_gateway(lookup={"name": "twilio", **lookup}, twilio={"lookup_base": fake_lookup.url})


@pytest.mark.parametrize("kind, outcome", [
    ("mobile", "mobile"), ("nonFixedVoip", "voip"), ("fixedVoip", "voip"), ("personal", "personal"),
    ("unknown", "unknown"), ("landline", "landline"), ("tollFree", "toll_free"), ("premium", "premium_rate"),
    ("sharedCost", "shared_cost"), ("uan", "uan"), ("voicemail", "voicemail"), ("pager", "pager"),
])
async def test_twilio_lookup_types(start_gateway, fake_lookup, kind, outcome):
    gateway = await _twilio_lookup_gateway(start_gateway, fake_lookup)
    fake_lookup.types["+14155552671"] = kind
    try:
        checked = await numbers.check(gateway.line_types, "+14155552671", field="phone", policy=US_CA)
        assert checked.line_type == outcome
    except InvalidInput as error:
        assert error.code == outcome
    assert fake_lookup.requests == ["+14155552671"]


async def test_lookup_says_no_such_number(start_gateway, fake_lookup):
    gateway = await _twilio_lookup_gateway(start_gateway, fake_lookup)
    fake_lookup.invalid.add("+14155552671")
    with pytest.raises(InvalidInput, match="no such number"):
        await numbers.check(gateway.line_types, "+14155552671", field="phone", policy=US_CA)


async def test_a_number_is_looked_up_once(start_gateway, fake_lookup, redis_client, db):
    gateway = await _twilio_lookup_gateway(start_gateway, fake_lookup)
    for _ in range(3):
        await numbers.check(gateway.line_types, "+14155552671", field="phone", policy=US_CA)
    assert fake_lookup.requests == ["+14155552671"]
    row = await db.fetchrow("SELECT line_type, source, carrier_name FROM line_types WHERE phone = $1", "+14155552671")
    assert tuple(row) == ("mobile", "twilio", "Fake Wireless")
    await redis_client.delete(CACHE_PREFIX + "+14155552671")  # Redis forgot: Postgres still knows
    await numbers.check(gateway.line_types, "+14155552671", field="phone", policy=US_CA)
    assert len(fake_lookup.requests) == 1 and await redis_client.get(CACHE_PREFIX + "+14155552671") == "mobile"
    # Older than lookup.cache_days: asked again.
    await redis_client.delete(CACHE_PREFIX + "+14155552671")
    await db.execute("UPDATE line_types SET looked_up_at = now() - interval '31 days'")
    await numbers.check(gateway.line_types, "+14155552671", field="phone", policy=US_CA)
    assert len(fake_lookup.requests) == 2


@pytest.mark.parametrize("failure", ["timeout", "error"])
async def test_lookup_failure_counts_as_unknown_and_is_not_cached(start_gateway, fake_lookup, db, failure):
    gateway = await _twilio_lookup_gateway(start_gateway, fake_lookup, timeout=0.2)
    if failure == "timeout":
        fake_lookup.delay = 1.0
    else:
        fake_lookup.status = 500
    checked = await numbers.check(gateway.line_types, "+14155552671", field="phone", policy=US_CA)
    assert checked.line_type == "unknown"
    assert await db.fetchval("SELECT count(*) FROM line_types") == 0
    registry = gateway.metrics.registry
    assert registry.get_sample_value("gateway_line_type_lookups_total", {"result": failure}) == 1
    with pytest.raises(InvalidInput, match="could not tell"):
        await numbers.check(gateway.line_types, "+14155552671", field="phone", policy=Policy("US", ("US",),
                                                                                                  "refuse"))

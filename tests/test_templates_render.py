"""The merge-field rules of gateway/relay/templates.py, as a table."""

import pytest

from gateway.relay import segments
from gateway.relay.templates import MissingFields, merge_fields, render

VALUES = {"first_name": "Ana", "reward_amount": "$20", "referral_link": "https://ex.am/p?a={first_name}"}


@pytest.mark.parametrize("body, fields, rendered", [
    ("Hi {first_name}, you earned {reward_amount}!", ["first_name", "reward_amount"], "Hi Ana, you earned $20!"),
    ("{first_name} {first_name}", ["first_name"], "Ana Ana"),
    ("No fields", [], "No fields"),
    ("{Name} { } { first_name} {", [], "{Name} { } { first_name} {"),
    ("Link: {referral_link}", ["referral_link"], "Link: https://ex.am/p?a={first_name}"),  # a value is not a template
    ("{a1_b}", ["a1_b"], None),
])
def test_fields_and_rendering(body, fields, rendered):
    assert merge_fields(body) == fields
    if rendered is not None:
        assert render(body, VALUES) == rendered


@pytest.mark.parametrize("values", [{}, {"first_name": ""}, {"first_name": "   "}, {"first_name": None}])
def test_a_missing_or_blank_field_is_named(values):
    with pytest.raises(MissingFields) as caught:
        render("Hi {first_name}, {reward_amount}", values)
    assert caught.value.names == ["first_name", "reward_amount"]


def test_the_characters_that_make_a_body_ucs2():
    assert segments.non_gsm_characters("It\u2019s {first_name}\u2019s \u2764 day") == ["\u2019", "\u2764"]
    assert segments.non_gsm_characters("Plain [GSM] text \u20ac") == []

"""The pure rules of contacts' data and CSV rows (gateway/relay/contact_data.py) and of template previews
(gateway/relay/templates.py preview), as tables."""

import pytest

from gateway.errors import InvalidInput
from gateway.relay import contact_data
from gateway.relay.contact_data import Change, Columns, RowRefused
from gateway.relay.templates import doubled, preview, ucs2_warning, unfillable, unfillable_warning


def phone_of(raw: str) -> str:
    if not raw.startswith("+1"):
        raise InvalidInput("invalid_number", "phone: not a phone")
    return raw


@pytest.mark.parametrize("header, columns", [
    (["phone"], Columns(0, None, None, None, {})),
    (["\ufeffPhone", " Name ", "TAGS", "preference"], Columns(0, 1, 3, 2, {}, width=4)),
    (["name", "phone", "first_name", "field.reward_amount", "dnd", "created_at"],
     Columns(1, 0, None, None, {"first_name": 2, "reward_amount": 3}, width=6)),
    (["phone", "field.name"], Columns(0, None, None, None, {"name": 1}, width=2)),  # a merge field called name
])
def test_a_header_names_the_columns(header, columns):
    assert Columns.of(header) == columns


@pytest.mark.parametrize("header, words", [
    (["name", "tags"], "phone"), ([], "phone"), (["phone", "phone"], "twice"),
    (["phone", "first_name", "field.first_name"], "twice"), (["phone", "First Name!"], "merge field"),
    (["phone", "field."], "merge field"), (["phone", *(f"f{i}" for i in range(51))], "at most 50"),
])
def test_a_header_that_cannot_be_read_is_refused(header, words):
    with pytest.raises(InvalidInput) as refused:
        Columns.of(header)
    assert refused.value.code == "invalid_csv" and words in refused.value.message


COLUMNS = Columns.of(["phone", "name", "tags", "preference", "first_name"])


@pytest.mark.parametrize("cells, change", [
    (["+14155552671", "Pat", "vip; spring;;vip", "opted_in", "Pat"],
     Change("+14155552671", "Pat", {"first_name": "Pat"}, ["vip", "spring"], "opted_in")),
    (["+14155552671", "", "", "", ""], Change("+14155552671", "", {"first_name": None}, [], None)),
    (["+14155552671", " Pat ", "", "Unknown", " x "], Change("+14155552671", "Pat", {"first_name": "x"}, [], None)),
    (["+14155552671", "Pat", "", " OPTED_OUT "], Change("+14155552671", "Pat", {"first_name": None}, [], "opted_out")),
    (["+14155552671"], Change("+14155552671", "", {"first_name": None}, [], None)),  # a short row: empty cells
    (["+14155552671", "Pat", "", "", "Pat", "", " "], Change("+14155552671", "Pat", {"first_name": "Pat"}, [], None)),
])
def test_a_row_is_read_as_a_change(cells, change):
    assert contact_data.read_row(cells, COLUMNS, phone_of) == change


def test_columns_a_file_leaves_out_stay_as_they_are():
    assert contact_data.read_row(["+14155552671"], Columns.of(["phone"]), phone_of) == Change("+14155552671")


@pytest.mark.parametrize("cells, words", [
    (["415", "Pat", "", "", ""], "phone"),
    (["+14155552671", "x" * 101, "", "", ""], "name"),
    (["+14155552671", "Pat", "x" * 41, "", ""], "tags[0]"),
    (["+14155552671", "Pat", "", "subscribed", ""], "preference"),
    (["+14155552671", "Pat", "", "", "a\tb"], "first_name"),
    (["+14155552671", "Pat", "", "", "x" * 501], "first_name"),
    (["+14155552671", "Pat", "", "", "Pat", "Lee"], "1 cell beyond the header's 5 columns (column 6)"),
    (["415", "Pat", "", "", "", "", "x", *"abcdef"], "7 cells beyond the header's 5 columns (columns 7, 8, 9, 10, 11, "
                                                   "...)"),  # before the phone: the cells are out of place
])
def test_a_bad_row_is_refused_with_its_reason(cells, words):
    with pytest.raises(RowRefused) as refused:
        contact_data.read_row(cells, COLUMNS, phone_of)
    assert words in str(refused.value)


@pytest.mark.parametrize("body, values, text, encoding, segments, missing", [
    ("Hi {first_name}", {"first_name": "Ana"}, "Hi Ana", "GSM-7", 1, []),
    ("Hi {first_name}", {}, "Hi {first_name}", "GSM-7", 1, ["first_name"]),
    ("Hi {first_name}", {"first_name": "Zoë ❤"}, "Hi Zoë ❤", "UCS-2", 1, []),  # a value can make it UCS-2 too
    ("x" * 160, {}, "x" * 160, "GSM-7", 1, []),
    ("x" * 161, {}, "x" * 161, "GSM-7", 2, []),
    ("\u2019" + "x" * 69, {}, "\u2019" + "x" * 69, "UCS-2", 1, []),
    ("\u2019" + "x" * 70, {}, "\u2019" + "x" * 70, "UCS-2", 2, []),
    ("{a} {b} {a}", {"b": "B"}, "{a} B {a}", "GSM-7", 1, ["a"]),
])
def test_a_preview_renders_and_counts(body, values, text, encoding, segments, missing):
    shown = preview(body, values)
    assert (shown.text.text, shown.text.encoding, shown.text.segments, shown.missing) == (
        text, encoding, segments, missing)
    assert shown.first_text is None


@pytest.mark.parametrize("text, sentence", [
    ("It\u2019s " + "x" * 100, "\u2019 (U+2019) makes this text UCS-2: 2 segments instead of 1 (write ' for \u2019)"),
    ("\u201cHi\u201d \u2764", "\u201c (U+201C), \u201d (U+201D) and \u2764 (U+2764) make this text UCS-2: still 1 "
                              "segment, but 70 characters a segment instead of 160 (write \" for \u201c, \" for \u201d)"),
    ("Caf\u00e9 \u0107", "\u0107 (U+0107) makes this text UCS-2: still 1 segment, but 70 characters a segment "
                         "instead of 160"),  # é is GSM-7; ć is not
])
def test_the_ucs2_warning_says_what_it_costs(text, sentence):
    assert ucs2_warning(text) == sentence


def test_a_preview_warns_of_a_text_the_carrier_refuses_and_shows_the_first_text():
    shown = preview("x" * 1601, {}, "Acme: {message} Reply STOP to opt out.")
    assert any("1600" in warning for warning in shown.warnings)
    assert shown.first_text.text == "Acme: " + "x" * 1601 + " Reply STOP to opt out."


@pytest.mark.parametrize("body, placeholders", [
    ("Hi {first_name}", []),
    ("Hi {First_Name}, {first_name} {First_Name}", ["{First_Name}"]),
    ("{firstName} {first name} { first_name } {reward-amount} {FIRST}", ["{firstName}", "{first name}",
                                                                        "{ first_name }", "{reward-amount}", "{FIRST}"]),
    ("{ } { {1x} {:)} {été} {{first_name}}", []),  # not a name in braces (or a field in two pairs)
])
def test_a_name_in_braces_that_is_no_field_is_found(body, placeholders):
    assert unfillable(body) == placeholders


@pytest.mark.parametrize("placeholder, hint", [
    ("{First_Name}", "; write {first_name}"), ("{firstName}", "; write {first_name}"),
    ("{ first name }", "; write {first_name}"), ("{URL}", "; write {url}"), ("{_}", ""),
])
def test_the_unfillable_warning_names_the_field_it_likely_means(placeholder, hint):
    assert unfillable_warning(placeholder) == (
        f"{placeholder} is not a merge field (a lower-case letter, then lower-case letters, digits or _, in braces): "
        f"it is sent as written, never filled{hint}")


@pytest.mark.parametrize("body, placeholders", [
    ("Hi {first_name}", []), ("{{ first_name }} {{First}} {{}}", []),
    ("Hi {{first_name}}, {{first_name}} {{{reward}}}", ["{{first_name}}", "{{reward}}"]),
])
def test_a_field_in_two_pairs_of_braces_is_found(body, placeholders):
    assert doubled(body) == placeholders


def test_a_preview_warns_that_a_field_in_two_pairs_of_braces_is_sent_in_braces():
    """{{first_name}} (as Mustache and Liquid write a field) was filled inside the outer braces with no warning:
    the text said "Hi {Ana}"."""
    shown = preview("Hi {{first_name}}", {"first_name": "Ana"})
    assert shown.text.text == "Hi {Ana}"
    assert shown.warnings == ["{{first_name}} is a merge field in two pairs of braces: the text shows its value in "
                              "braces ({value}); write {first_name}"]

"""Segment counts for bodies whose counts are known."""

import pytest

from gateway.relay.segments import count, is_gsm7

A = "a"


@pytest.mark.parametrize("body, segments", [
    ("", 1),
    ("Hello", 1),
    (A * 160, 1),
    (A * 161, 2),
    (A * 306, 2),  # 153 * 2
    (A * 307, 3),
    (A * 459, 3),  # 153 * 3
    ("\r", 1),  # a lone CR is GSM-7
    ("€" * 80, 1),  # extension characters cost two septets: 160
    ("€" * 81, 2),
    (A * 159 + "€", 2),  # 161 septets
    (A * 152 + "€" + A * 10, 2),  # the euro sign does not fit in part one's last septet: moves whole
    (A * 152 + "€" * 77, 3),  # 152 | € + 75 € (152 septets) | 1 €
    ("Prix: 20€ {ok}", 1),
    ("Hi 😀", 1),  # UCS-2: 5 code units
    ("é" * 160, 1),  # é is in the GSM basic table
    ("ê" * 70, 1),  # ê is not: UCS-2
    ("ê" * 71, 2),
    ("ê" * 134, 2),  # 67 * 2
    ("ê" * 135, 3),
    (A * 69 + "😀", 2),  # 71 code units
    (A * 66 + "😀" + A * 50, 2),  # the emoji's surrogate pair moves whole to part two: 66 | 2 + 50
    (A * 66 + "😀" + A * 66, 3),  # 66 | 2 + 65 | 1
    ("😀" * 35, 1),  # 70 units
    ("😀" * 36, 2),
])
def test_known_counts(body, segments):
    assert count(body) == segments


def test_encoding_choice():
    assert is_gsm7("Hello @ £5 [ok]") and not is_gsm7("Hello 👋") and not is_gsm7("ç")

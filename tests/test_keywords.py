"""Keyword recognition on whole messages."""

import pytest

from gateway.keywords import classify


@pytest.mark.parametrize("body, expected", [
    ("STOP", ("opt_out", "STOP")), ("stop", ("opt_out", "STOP")), ("  Stop!  ", ("opt_out", "STOP")),
    ("STOP.", ("opt_out", "STOP")), ("unsubscribe", ("opt_out", "UNSUBSCRIBE")), ("Cancel", ("opt_out", "CANCEL")),
    ("end", ("opt_out", "END")), ("quit", ("opt_out", "QUIT")), ("revoke", ("opt_out", "REVOKE")),
    ("optout", ("opt_out", "OPTOUT")), ("stopall", ("opt_out", "STOPALL")),
    ("start", ("opt_in", "START")), ("Yes!", ("opt_in", "YES")), ("unstop", ("opt_in", "UNSTOP")),
    ("join", ("opt_in", "JOIN")), ("subscribe", ("opt_in", "SUBSCRIBE")),
    ("help", ("help", "HELP")), ("INFO?", ("help", "INFO")),
    ("stop it", None), ("please stop", None), ("Stopping by later", None), ("yes please", None), ("", None),
    ("S T O P", None),
])
def test_classify(body, expected):
    assert classify(body) == expected

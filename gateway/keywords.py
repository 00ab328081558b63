"""Carrier keywords: the whole message, trimmed, any case, trailing punctuation ignored."""

from __future__ import annotations

import string

OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN = frozenset({"START", "UNSTOP", "YES", "JOIN", "SUBSCRIBE"})
HELP = frozenset({"HELP", "INFO"})
TRAILING = string.punctuation + " \t\r\n"


def classify(body: str) -> tuple[str, str] | None:
    """("opt_out" | "opt_in" | "help", the keyword) when the whole message is a keyword, else None."""
    word = body.strip().rstrip(TRAILING).strip().upper()
    for kind, words in (("opt_out", OPT_OUT), ("opt_in", OPT_IN), ("help", HELP)):
        if word in words:
            return kind, word
    return None

"""Carrier keywords: a message that is, as a whole, one keyword, read as a phone may type it.

Each list names where its words come from. A word may be in several sources; matching is on the normalised
form (see normalise()), so the lists hold upper-case ASCII with single spaces.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from gateway.vocabulary import KeywordKind

# 47 CFR 64.1200(a)(10) (FCC, 2024 consent-revocation rule): "stop", "quit", "end", "revoke", "opt out",
# "cancel" and "unsubscribe" revoke consent when sent as a reply.
FCC_OPT_OUT = {"STOP", "QUIT", "END", "REVOKE", "OPT OUT", "CANCEL", "UNSUBSCRIBE"}
# CTIA Messaging Principles and Best Practices and its Short Code Monitoring Handbook: STOP, END, CANCEL,
# UNSUBSCRIBE, QUIT and STOPALL must opt out; HELP must answer.
CTIA_OPT_OUT = {"STOP", "END", "CANCEL", "UNSUBSCRIBE", "QUIT", "STOPALL"}
# Twilio's default opt-out list for long codes (Twilio support for opt-out keywords, SMS STOP filtering):
# the carrier opts these out itself, so we must too, or we would keep queueing texts it refuses.
TWILIO_OPT_OUT = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
# Other carriers' required lists for the US and Canada: AWS End User Messaging ("Required opt-out keywords":
# ARRET, CANCEL, END, OPT-OUT, OPTOUT, QUIT, REMOVE, STOP, TD, UNSUBSCRIBE) and Telnyx's defaults ("STOP ALL").
CARRIER_OPT_OUT = {"REMOVE", "TD", "STOP ALL"}
# Canadian French (Canada is a default country): the CWTA common short code guidelines pair STOP with ARRET
# and HELP with AIDE; ARRETE ("stop!", the imperative) is what people type too. Accents are dropped first.
FRENCH_OPT_OUT = {"ARRET", "ARRETE"}
FRENCH_HELP = {"AIDE"}

OPT_OUT = frozenset(FCC_OPT_OUT | CTIA_OPT_OUT | TWILIO_OPT_OUT | CARRIER_OPT_OUT | FRENCH_OPT_OUT)
# Twilio's default opt-in list (START, UNSTOP, YES); JOIN and SUBSCRIBE are this gateway's own additions.
OPT_IN = frozenset({"START", "UNSTOP", "YES", "JOIN", "SUBSCRIBE"})
# CTIA (HELP) and Twilio's defaults (HELP, INFO), with the Canadian French AIDE.
HELP = frozenset({"HELP", "INFO"} | FRENCH_HELP)

# Between the words of a keyword: any run of spaces, hyphens or underscores ("opt   out", "Opt-out").
SEPARATORS = re.compile(r"[\s\-_\u2010-\u2015]+")


def _is_edge(char: str) -> bool:
    """Punctuation, spaces, symbols (emoji) and invisible format characters around a keyword."""
    return unicodedata.category(char)[0] in "PZSC"


def normalise(body: str) -> str:
    """The matching form of a message: compatibility-decomposed (NFKD) with combining marks dropped, so
    "Arrêt" and full-width letters read as ASCII; upper case; punctuation, symbols and spaces trimmed at
    both ends; word separators inside reduced to one space."""
    text = "".join(c for c in unicodedata.normalize("NFKD", body) if not unicodedata.combining(c))
    text = text.upper()
    start, end = 0, len(text)
    while start < end and _is_edge(text[start]):
        start += 1
    while end > start and _is_edge(text[end - 1]):
        end -= 1
    return SEPARATORS.sub(" ", text[start:end])


class Keyword(NamedTuple):
    kind: KeywordKind  # what it asks for
    word: str  # the keyword as listed


def classify(body: str) -> Keyword | None:
    """The keyword the whole message is, else None."""
    word = normalise(body)
    for kind, words in ((KeywordKind.OPT_OUT, OPT_OUT), (KeywordKind.OPT_IN, OPT_IN), (KeywordKind.HELP, HELP)):
        if word in words:
            return Keyword(kind, word)
    return None


def classify_after_code(rest: str | None) -> Keyword | None:
    """What the rest of a message that starts with a conversation code ("#J6 STOP": rest "STOP") is: an opt-out
    word only. Someone with several conversations on a number writes their codes; "#J6 STOP" asks to stop (this
    conversation at least), and relaying it while still texting them is the compliance risk, so it opts out as STOP
    does, from the whole community (the one scope opt-outs have). "#J6 yes" or "#J6 help" stay answers to the other
    person, as "yes" in the middle of a conversation is."""
    found = classify(rest) if rest is not None else None
    return found if found is not None and found.kind == KeywordKind.OPT_OUT else None

"""Keyword recognition on whole messages."""

import pytest

from gateway.compliance.keywords import OPT_OUT, classify
from tests.helpers import ALEX, PAT, PROXY


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
    # issue 9: Canadian French and the FCC's two-word "opt out" were relayed as ordinary text.
    ("ARRET", ("opt_out", "ARRET")), ("Arrêt", ("opt_out", "ARRET")), ("ARRÊT", ("opt_out", "ARRET")),
    ("arrete", ("opt_out", "ARRETE")), ("Arrête!", ("opt_out", "ARRETE")), ("aide", ("help", "AIDE")),
    ("Opt out", ("opt_out", "OPT OUT")), ("OPT OUT", ("opt_out", "OPT OUT")), ("opt   out", ("opt_out", "OPT OUT")),
    ("Opt-out", ("opt_out", "OPT OUT")), ("OPT_OUT", ("opt_out", "OPT OUT")), ("opt\tout.", ("opt_out", "OPT OUT")), ("Stop all", ("opt_out", "STOP ALL")),
    ("remove", ("opt_out", "REMOVE")), ("TD", ("opt_out", "TD")),
    # Surrounding punctuation, symbols and spaces on both sides; compatibility forms and combining accents.
    ("...stop...", ("opt_out", "STOP")), ("«ARRÊT»", ("opt_out", "ARRET")), ("\"Stop\"", ("opt_out", "STOP")),
    ("STOP 🛑", ("opt_out", "STOP")), ("\u200bstop\u200b", ("opt_out", "STOP")), ("ＳＴＯＰ", ("opt_out", "STOP")),
    ("Arre\u0302t", ("opt_out", "ARRET")), ("¿help?", ("help", "HELP")), ("\r\nSTOP\r\n", ("opt_out", "STOP")),
    # Still whole messages only.
    ("opt out please", None), ("arrêt de bus", None), ("opt", None), ("out", None), ("O P T O U T", None),
    ("stop.stop", None), ("🛑", None),
])
def test_classify(body, expected):
    assert classify(body) == expected


@pytest.mark.parametrize("word", ["stop", "quit", "end", "revoke", "opt out", "cancel", "unsubscribe"])
def test_every_word_of_the_fcc_rule_opts_out(word):
    """47 CFR 64.1200(a)(10) names these revocation words; each must opt out, in any case."""
    assert classify(word) == ("opt_out", word.upper())
    assert classify(word.title()) == ("opt_out", word.upper())
    assert word.upper() in OPT_OUT


@pytest.mark.parametrize("word", ["Arrêt", "ARRETE", "Opt out", "opt-out"])
async def test_french_and_two_word_opt_outs_are_not_relayed(gateway, db, word):
    """issue 9: "ARRET" and "Opt out" reached the other party as ordinary text."""
    community = await gateway.community()
    await gateway.conversation(community["id"])
    await gateway.delivered_to(ALEX)
    assert (await gateway.sms(PAT, PROXY, word))[0] == 200
    assert (await gateway.delivered_to(PAT))[0].startswith("You're unsubscribed from Acme Housing.")
    assert len(gateway.carrier.bodies_to(ALEX)) == 1  # the notification only: the keyword was not relayed
    assert await db.fetchval("SELECT preference FROM contacts WHERE phone = $1", PAT) == "opted_out"

"""The rules of dedicated numbers and team inboxes as tables (gateway/relay/assignment.py): where a stranger's text
goes, in order, and which numbers a new conversation may get."""

import pytest

from gateway.relay.assignment import (Assignment, AutoReply, Member, NumberUse, OutOfSession, Placement, ToMember,
                                      ToTeam, eligible, named_refusal, route_stranger, team_cast)

PAT, ALEX, SAM, KIM = "+14155552671", "+14155552672", "+14155552673", "+14155552674"
A, S, K = Member(ALEX, "Alex"), Member(SAM, "Sam"), Member(KIM, "Kim")
TEAM = dict(team_id=7, team_style="claim", team_members=(S, K))


@pytest.mark.parametrize("assignment, sender, can_answer, expected", [
    # The order: the dedicated member, the team, the out-of-session URL, the auto-reply.
    (Assignment(1, member=A, **TEAM, out_of_session=True), PAT, True, ToMember(A)),
    (Assignment(1, **TEAM, out_of_session=True), PAT, True, ToTeam(7, "claim", (S, K))),
    (Assignment(1, out_of_session=True), PAT, True, OutOfSession()),
    (Assignment(1), PAT, True, AutoReply()),
    (None, PAT, True, AutoReply()),  # a number that is nobody's
    # Nobody opens a conversation with themselves: the next rule applies.
    (Assignment(1, member=A, **TEAM), ALEX, True, ToTeam(7, "claim", (S, K))),
    (Assignment(1, **TEAM, out_of_session=True), SAM, True, OutOfSession()),
    (Assignment(1, **TEAM), KIM, True, AutoReply()),
    # A team without members opens nothing.
    (Assignment(1, team_id=7, team_style="everyone", out_of_session=True), PAT, True, OutOfSession()),
    # A member who takes no text now (opted out, on DND) is passed over, as is a team none of whose members does.
    (Assignment(1, member=A, **TEAM, unreachable=frozenset({ALEX})), PAT, True, ToTeam(7, "claim", (S, K))),
    (Assignment(1, member=A, out_of_session=True, unreachable=frozenset({ALEX})), PAT, True, OutOfSession()),
    (Assignment(1, **TEAM, unreachable=frozenset({SAM, KIM})), PAT, True, AutoReply()),
    (Assignment(1, **TEAM, unreachable=frozenset({SAM})), PAT, True, ToTeam(7, "claim", (S, K))),
    # A sender nobody can answer (a short code, "ACME") opens nothing, whatever the number is.
    (Assignment(1, member=A, **TEAM), "ACME", False, AutoReply()),
    (Assignment(1, member=A, out_of_session=True), "12345", False, OutOfSession()),
])
def test_a_strangers_text_goes_to_the_first_that_applies(assignment, sender, can_answer, expected):
    assert route_stranger(assignment, sender, can_answer) == expected


NUMBERS = [NumberUse("+1001"), NumberUse("+1002", member=ALEX), NumberUse("+1003", member=SAM),
           NumberUse("+1004", team_id=7), NumberUse("+1005")]


@pytest.mark.parametrize("placement, expected", [
    (Placement(), ["+1001", "+1005"]),  # nothing asked: never a dedicated or a team's number
    (Placement(advocate=ALEX), ["+1002"]),  # a member's own dedicated number first
    (Placement(advocate=PAT), ["+1001", "+1005"]),  # none of their own: the unassigned ones
    (Placement(team_id=7), ["+1004"]),  # a team's conversation: its number
    (Placement(team_id=8), ["+1001", "+1005"]),  # a team without one: the unassigned ones
    (Placement(named="+1003", advocate=ALEX), ["+1003"]),  # named: that one (named_refusal judged it first)
    (Placement(named="+1009"), []),
])
def test_a_new_conversation_keeps_off_assigned_numbers_unless_asked(placement, expected):
    assert eligible(NUMBERS, placement) == expected


@pytest.mark.parametrize("numbers, placement, expected", [
    # Numbers with a category keep off while an uncategorized one is free...
    ([NumberUse("+1001", category="marketing"), NumberUse("+1002"), NumberUse("+1003", category="transactional")],
     Placement(), ["+1002"]),
    # ... then a transactional one carries them; a marketing one never.
    ([NumberUse("+1001", category="marketing"), NumberUse("+1003", category="transactional")], Placement(),
     ["+1003"]),
    ([NumberUse("+1001", category="marketing")], Placement(), []),
    ([NumberUse("+1001", category="marketing"), NumberUse("+1002", member=ALEX)], Placement(advocate=PAT), []),
    ([NumberUse("+1001", category="transactional"), NumberUse("+1004", team_id=7)], Placement(team_id=8),
     ["+1001"]),
])
def test_numbers_with_a_category(numbers, placement, expected):
    assert eligible(numbers, placement) == expected


def test_no_number_fits_when_all_are_assigned():
    assert eligible([NumberUse("+1002", member=ALEX), NumberUse("+1004", team_id=7)], Placement()) == []


@pytest.mark.parametrize("number, advocate, shared, expected", [
    (None, ALEX, False, "number_not_in_community"),
    (NumberUse("+1001"), ALEX, False, None),
    (NumberUse("+1002", member=ALEX), ALEX, False, None),  # one's own
    (NumberUse("+1003", member=SAM), ALEX, False, "number_dedicated"),
    (NumberUse("+1003", member=SAM), ALEX, True, None),  # the community lets members share them
    (NumberUse("+1004", team_id=7), ALEX, False, None),  # a team's: its inbox conversation
    (NumberUse("+1006", category="marketing"), ALEX, False, "number_marketing"),  # marketing only
    (NumberUse("+1007", category="transactional"), ALEX, False, None),
])
def test_a_named_number(number, advocate, shared, expected):
    assert named_refusal(number, advocate, shared) == expected


@pytest.mark.parametrize("members, starter, most, expected", [
    ((S, K), A, 10, [A, S, K]),  # the starter joins, first
    ((S, K), S, 10, [S, K]),  # already in the team
    ((S, K), None, 10, [S, K]),
    ((S, K), A, 2, None),  # too many
])
def test_a_teams_conversation_cast(members, starter, most, expected):
    assert team_cast(members, starter, most) == expected

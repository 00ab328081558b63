"""The fan-out rules as tables: each participant's entry, who gets a copy, and the label each copy carries."""

import pytest

from gateway.relay import fanout
from gateway.relay import rules as relay
from gateway.relay.rules import Recipient, RouteEntry
from gateway.routing.keys import decode, encode

PAT = Recipient("+14155552671", "Pat", "customer")
ALEX = Recipient("+14155552672", "Alex", "member")
SAM = Recipient("+14155552673", "Sam", "member")
KIM = Recipient("+14155552674", "Kim", "member")
NO_ID = (0, 1)


def _entry(shape: str, me: Recipient, *others: Recipient) -> RouteEntry:
    return fanout.entry_for(7, "K3", shape, me, list(others))


def test_a_pair_entry_is_the_one_it_always_was():
    prospect, advocate = Recipient(PAT.phone, "Pat", "prospect"), Recipient(ALEX.phone, "Alex", "advocate")
    assert fanout.entries_of(7, "K3", "pair", [prospect, advocate]) == [
        (PAT.phone, RouteEntry(7, ALEX.phone, "Alex", "K3", "Pat")),
        (ALEX.phone, RouteEntry(7, PAT.phone, "Pat", "K3", "Alex"))]


def test_an_entry_of_several_names_every_other_participant():
    entry = _entry("group", ALEX, SAM, KIM)
    assert (entry.recipient, entry.recipient_name, entry.recipients) == (SAM.phone, "Sam, Kim", (SAM, KIM))
    assert fanout.others(entry) == (SAM, KIM)
    # The help reply lists the others, as it lists a pair's other party.
    assert relay.help_body("Z9", [entry]) == "No conversation #Z9. Start your reply with one of: #K3 (Sam, Kim)."


@pytest.mark.parametrize("entry", [
    RouteEntry(7, ALEX.phone, "Alex", "K3", "Pat"),
    _entry("group", ALEX, SAM, KIM),
    _entry("one_to_group", PAT, ALEX, SAM),
])
def test_a_route_survives_redis_as_it_was_written(entry):
    assert decode("7", encode(entry)) == entry


def test_a_pair_route_is_stored_in_redis_as_before():
    assert encode(RouteEntry(7, ALEX.phone, "Alex", "K3", "Pat")) == '["+14155552672", "Alex", "K3", "Pat"]'


@pytest.mark.parametrize("shape, sender, recipient, others, label", [
    ("pair", PAT, ALEX, (), None),
    ("group", ALEX, SAM, (SAM, KIM), "Alex"),
    ("one_to_group", PAT, ALEX, (ALEX, SAM), "Pat"),  # the customer's text: every member sees who wrote
    ("one_to_group", ALEX, PAT, (PAT, SAM), None),  # a member's reply reaches the customer as is
    ("one_to_group", ALEX, SAM, (PAT, SAM), "Alex to Pat"),  # and the other members with who answered whom
])
def test_each_copy_says_who_wrote_it(shape, sender, recipient, others, label):
    entry = _entry(shape, sender, *others) if shape != "pair" else RouteEntry(7, recipient.phone, "", "K3", "Pat")
    assert fanout.label(entry, recipient) == label


@pytest.mark.parametrize("recipient_open, label, expected", [
    (1, None, "hi"),
    (2, None, "#K3 Pat: hi"),
    (1, "Pat", "Pat: hi"),
    (2, "Pat", "#K3 Pat: hi"),
    (1, "Alex to Pat", "Alex to Pat: hi"),
    (3, "Alex to Pat", "#K3 Alex to Pat: hi"),
])
def test_a_copy_carries_its_label_and_the_code_when_needed(recipient_open, label, expected):
    assert relay.relayed_body("hi", code="K3", sender_name="Pat", recipient_open=recipient_open,
                              label=label) == expected


def test_copies_go_to_every_other_participant_each_with_its_own_prefix():
    entry = _entry("one_to_group", ALEX, PAT, SAM, KIM)
    copies = fanout.copies(entry, "On my way", {PAT.phone: 1, SAM.phone: 2, KIM.phone: 1}, NO_ID)
    assert copies == [(PAT.phone, ["On my way"]), (SAM.phone, ["#K3 Alex to Pat: On my way"]),
                      (KIM.phone, ["Alex to Pat: On my way"])]


def test_a_long_text_is_split_per_recipient_with_the_prefix_in_every_part():
    entry = _entry("group", ALEX, SAM, KIM)
    body = "word " * 400  # 2,000 characters: two parts for each recipient
    copies = fanout.copies(entry, body.strip(), {}, NO_ID)
    assert [phone for phone, _ in copies] == [SAM.phone, KIM.phone]
    for _, parts in copies:
        assert len(parts) == 2 and all(part.startswith("Alex: ") and len(part) <= 1600 for part in parts)


def test_a_blank_text_makes_no_copies():
    assert fanout.copies(_entry("group", ALEX, SAM, KIM), "  ", {}, NO_ID) == [(SAM.phone, []), (KIM.phone, [])]


def test_the_longest_label_leaves_room_for_every_copy():
    assert fanout.longest_label(_entry("one_to_group", ALEX, PAT, SAM)) == "Alex to Pat"
    assert fanout.longest_label(_entry("group", ALEX, SAM)) == "Alex"
    assert fanout.longest_label(RouteEntry(7, SAM.phone, "Sam", "K3", "Alex")) is None


@pytest.mark.parametrize("recipient_open, prefix", [(1, ""), (2, "#K3 ")])
def test_the_group_texts_we_write(recipient_open, prefix):
    assert fanout.intro_body("Welcome!", community_name="Acme", names=["Sam", "Kim"], code="K3",
                             recipient_open=recipient_open) == (
        f"{prefix}Acme group text with Sam, Kim: Welcome! (Replies go to everyone in the group.)")
    assert fanout.left_body(code="K3", recipient_open=recipient_open) == f"{prefix}Someone left the group."
    assert fanout.added_body(community_name="Acme", names=["Sam"], code="K3", recipient_open=recipient_open) == (
        f"{prefix}Acme: you were added to a conversation with Sam. Reply to this number to text them.")


def _claim(me: Recipient, *others: Recipient, claimed_by: str = "") -> RouteEntry:
    return fanout.entry_for(7, "K3", "one_to_group", me, list(others), "claim", claimed_by)


@pytest.mark.parametrize("entry, needs, is_taken, to", [
    (_claim(ALEX, PAT, SAM), True, False, [PAT, SAM]),  # nobody has it: Alex's reply takes it
    (_claim(PAT, ALEX, SAM), False, False, [ALEX, SAM]),  # the customer's text before: every member
    (_claim(PAT, ALEX, SAM, claimed_by=ALEX.phone), False, False, [ALEX]),  # after: the member who took it
    (_claim(ALEX, PAT, SAM, claimed_by=ALEX.phone), False, False, [PAT]),  # that member: the customer only
    (_claim(SAM, PAT, ALEX, claimed_by=ALEX.phone), False, True, []),  # another member: nobody
    (fanout.entry_for(7, "K3", "one_to_group", ALEX, [PAT, SAM], "everyone"), False, False, [PAT, SAM]),
])
def test_who_gets_a_text_in_claim_style(entry, needs, is_taken, to):
    assert (fanout.needs_claim(entry), fanout.taken(entry), list(fanout.recipients(entry))) == (needs, is_taken, to)


def test_the_member_who_takes_it_reaches_the_customer_and_the_others_are_told():
    entry = _claim(ALEX, PAT, SAM, KIM, claimed_by=ALEX.phone)
    assert fanout.copies(entry, "I'll help", {KIM.phone: 2}, NO_ID, ALEX.phone, took=True) == [
        (PAT.phone, ["I'll help"]), (SAM.phone, ["Alex took this conversation."]),
        (KIM.phone, ["#K3 Alex took this conversation."])]


def test_a_member_who_did_not_take_it_is_told_who_has_it():
    entry = _claim(SAM, PAT, ALEX, claimed_by=ALEX.phone)
    assert fanout.copies(entry, "me too", {}, NO_ID, SAM.phone) == [
        (SAM.phone, ["Your text was not sent: Alex took this conversation."])]

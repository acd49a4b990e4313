"""Password rules without HTTP: each rule refuses with its own message, good passwords pass."""

from __future__ import annotations

import pytest

from idp.security.password_rules import PasswordRules, check_password, personal_inputs

RULES = PasswordRules()
JENNY = ("Jenny", "Hinsen", "jenny.hinsen@outlook.com")
CLASSES = (
    "Password must have at least 3 of: a lowercase letter, an uppercase letter, a digit, "
    "a symbol (for example £ $ %)"
)
GUESSABLE = "Password is too easy to guess. Avoid common words like 'Password', names and dates"
PERSONAL = "Password must not contain your name or email address"


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "Enter a password"),
        ("Tq7#mZp", "Password must be at least 8 characters long"),
        ("Tq7#mZp2" * 8 + "x", "Password must be no more than 64 characters long"),
        ("tq7mzp2vl", f"{CLASSES}. Add an uppercase letter or a symbol"),
        ("tqmzpvlxkw", f"{CLASSES}. Add 2 of: an uppercase letter, a digit, a symbol"),
        ("TQ7MZP2VL", f"{CLASSES}. Add a lowercase letter or a symbol"),
        ("27041983!!", f"{CLASSES}. Add a lowercase letter or an uppercase letter"),
        ("Password1!", GUESSABLE),
        ("Qwerty123!", GUESSABLE),
        ("Summer2023!", GUESSABLE),
    ],
)
def test_each_broken_rule_is_named_in_plain_english(password, message):
    assert check_password(password, RULES) == message


def test_rules_are_checked_in_order_so_only_the_first_broken_one_is_named():
    # Too short and only one kind of character: the length is what to fix first.
    assert check_password("abc", RULES) == "Password must be at least 8 characters long"


@pytest.mark.parametrize(
    "password",
    ["Correct-Horse-Battery-9", "Tq7#mZp2vL", "Hedgehog-Lantern-Velvet", "tq7mzp2vl£$%"],
)
def test_good_passwords_are_accepted(password):
    assert check_password(password, RULES, JENNY) is None


@pytest.mark.parametrize(
    "password", ["Tq7mzp2vl£", "Tq7mzp2vl$", "Tq7mzp2vl%", "Tq7mzp2vl €", "tq7mzp2vl £"]
)
def test_pound_dollar_percent_and_other_characters_count_as_symbols(password):
    assert check_password(password, RULES) is None


def test_accented_and_non_latin_letters_count_as_letters():
    # "é" lowercase and "Ж" uppercase, so with a digit that is three kinds.
    assert check_password("éżąćńśżź9Ж", RULES) is None


def test_the_lengths_are_the_parent_portals_8_to_64():
    # Guessability off: zxcvbn scores most 8-character passwords below 3.
    length_only = PasswordRules(refuse_guessable=False)
    assert check_password("Tq7#mZp2", length_only) is None
    assert check_password("Tq7#mZp2" * 8, length_only) is None


@pytest.mark.parametrize(
    "password",
    [
        "Jenny1983!",  # the seed's own example: given name and year of birth
        "Hinsen-Blue-Sky-42",  # surname
        "Purple!jenny.hinsen7",  # email local part
        "J3nny-Blue-Sky-42",  # l33t
        "Ynnej-Blue-Sky-42",  # backwards
        "HINSEN-blue-sky-42",  # any case
    ],
)
def test_a_password_containing_the_persons_name_or_email_is_refused(password):
    assert check_password(password, RULES, JENNY) == PERSONAL


def test_the_same_password_without_personal_inputs_is_judged_on_strength_alone():
    assert check_password("Jenny1983!", RULES) == GUESSABLE


def test_names_are_found_without_regard_to_accents():
    assert check_password("Zoe-Purple-Elephant-7", RULES, ["Zoë"]) == PERSONAL


def test_short_names_do_not_refuse_passwords_that_merely_contain_them():
    assert check_password("Correct-Horse-Battery-9", RULES, ["Al", "Or"]) is None


def test_personal_inputs_include_the_email_local_part_and_its_words():
    assert personal_inputs(["Mary-Jane", "mj.smith_1983@example.com"]) == [
        "mary-jane",
        "mary",
        "jane",
        "mj.smith_1983@example.com",
        "mj.smith_1983",
        "mj",
        "smith",
    ]


def test_guessable_passwords_pass_when_a_policy_allows_them():
    assert check_password("Password1!", PasswordRules(refuse_guessable=False)) is None
    assert check_password("Password1!", PasswordRules(min_strength=1)) is None


def test_a_policy_can_ask_for_all_four_kinds_of_character():
    rules = PasswordRules(min_character_classes=4)
    assert check_password("tq7mzp2vl", rules) == (
        "Password must have at least 4 of: a lowercase letter, an uppercase letter, a digit, "
        "a symbol (for example £ $ %). Add an uppercase letter and a symbol"
    )


def test_very_long_passwords_are_checked_quickly_up_to_a_long_maximum():
    rules = PasswordRules(max_length=1000)
    assert check_password("Tq7#mZp2vL-" * 90, rules) is None


def test_rules_come_from_a_policys_password_table():
    rules = PasswordRules.from_mapping(
        {"min_length": 10, "max_length": 128, "refuse_guessable": False}, "policies/x.toml"
    )
    assert rules == PasswordRules(min_length=10, max_length=128, refuse_guessable=False)
    assert PasswordRules.from_mapping({}, "policies/x.toml") == PasswordRules()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"minimum": 8}, "policies/x.toml: password.minimum is not a password rule"),
        ({"min_length": "8"}, "policies/x.toml: password.min_length must be a whole number"),
        ({"min_length": 8.5}, "policies/x.toml: password.min_length must be a whole number"),
        ({"max_length": True}, "policies/x.toml: password.max_length must be a whole number"),
        ({"refuse_guessable": 1}, "policies/x.toml: password.refuse_guessable must be true or"),
        ({"min_length": 0}, "policies/x.toml: password.min_length must be at least 1"),
        (
            {"min_length": 20, "max_length": 16},
            "policies/x.toml: password.max_length must not be less than password.min_length",
        ),
        (
            {"min_character_classes": 0},
            "policies/x.toml: password.min_character_classes must be from 1 to 4",
        ),
        (
            {"min_character_classes": 5},
            "policies/x.toml: password.min_character_classes must be from 1 to 4",
        ),
        ({"min_strength": -1}, "policies/x.toml: password.min_strength must be from 0 to 4"),
        ({"min_strength": 5}, "policies/x.toml: password.min_strength must be from 0 to 4"),
    ],
)
def test_a_wrong_password_table_is_refused_naming_the_file_and_field(table, message):
    with pytest.raises(ValueError) as refused:
        PasswordRules.from_mapping(table, "policies/x.toml")
    assert str(refused.value).startswith(message)


def test_names_are_split_on_spaces_hyphens_and_either_apostrophe():
    assert {"siobhan", "neil", "ann", "marie"} <= set(
        personal_inputs(["Siobhan O\u2019Neil", "Ann-Marie O'Neil"])
    )

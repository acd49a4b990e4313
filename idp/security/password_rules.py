"""The rules a new password must meet, and one plain-English answer when it does not.

No Flask here: plain values in, one message (or None) out. The defaults are the rules the
Parent Portal shows its users today: 8 to 64 characters, at least 3 of lowercase, uppercase,
digit and symbol, and nothing easily guessed such as 'Password' or the person's own name::

    rules = PasswordRules()
    check_password("Password1!", rules)                  # "Password is too easy to guess. ..."
    check_password("Jenny1983!", rules, ["Jenny", "Hinsen", "jenny.hinsen@outlook.com"])
                                                         # "Password must not contain your ..."
    check_password("Correct-Horse-Battery-9", rules)     # None: acceptable

A policy may change the rules in its ``[password]`` table::

    [password]
    min_length = 10
    min_strength = 4
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from zxcvbn import zxcvbn

from idp.journeys.context import N_

ENTER_A_PASSWORD = N_("Enter a password")
TOO_SHORT = N_("Password must be at least {min_length} characters long")
TOO_LONG = N_("Password must be no more than {max_length} characters long")
TOO_FEW_CLASSES = N_(
    "Password must have at least {count} of: a lowercase letter, an uppercase letter, "
    "a digit, a symbol (for example £ $ %)"
)
CONTAINS_PERSONAL = N_("Password must not contain your name or email address")
TOO_GUESSABLE = N_(
    "Password is too easy to guess. Avoid common words like 'Password', names and dates"
)

# The four kinds of character, in the order the message lists them.
LOWERCASE, UPPERCASE, DIGIT, SYMBOL = (
    N_("a lowercase letter"),
    N_("an uppercase letter"),
    N_("a digit"),
    N_("a symbol"),
)
CHARACTER_CLASSES = (LOWERCASE, UPPERCASE, DIGIT, SYMBOL)

# A name or email part shorter than this ("Al", "Bo") would refuse far too many passwords.
MIN_PERSONAL_LENGTH = 3

# zxcvbn's matching grows roughly with the cube of the length (about 0.02 s at 72
# characters, 0.5 s at 256) and it raises above its own limit of 72; the first 72
# characters say all that matters about how guessable a password is.
ZXCVBN_LIMIT = 72

# zxcvbn keeps the user inputs of the current call in a module-level dictionary, so two
# threads checking at once could each be scored against the other's name.
_zxcvbn_lock = threading.Lock()


@dataclass(frozen=True)
class PasswordRules:
    """What a new password must be. Every field can be set in a policy's ``[password]``."""

    min_length: int = 8
    """Fewest characters; NIST SP 800-63B asks for at least 8."""
    max_length: int = 64
    """Most characters; NIST SP 800-63B asks to allow at least 64."""
    min_character_classes: int = 3
    """How many of lowercase, uppercase, digit and symbol (any other character) it needs."""
    refuse_guessable: bool = True
    """Refuse passwords that contain the person's name or email, or that zxcvbn finds weak."""
    min_strength: int = 2
    """The zxcvbn score (0 to 4) a password must reach when refuse_guessable is on.

    2 (more than a million guesses) suits a sign-in that locks out after ten wrong
    passwords, and lets a well-mixed 8-character password through, as the seeds'
    "between 8 and 64 characters" promises; zxcvbn scores no 8-character password 3."""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> PasswordRules:
        """Rules from a policy's ``[password]`` table; unset fields keep their defaults.

        A wrong table is refused with the file and the field in the message::

            PasswordRules.from_mapping({"min_length": 10}, "policies/x.toml")
            PasswordRules.from_mapping({"min_length": "10"}, "policies/x.toml")
            # ValueError: policies/x.toml: password.min_length must be a whole number
        """
        known = {f.name: f for f in fields(cls)}
        for name in data:
            if name not in known:
                raise ValueError(
                    f"{where}: password.{name} is not a password rule; known: {', '.join(known)}"
                )
        for name, value in data.items():
            if isinstance(known[name].default, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{where}: password.{name} must be true or false")
            # TOML's true/false are bools, and bool is a subclass of int in Python.
            elif not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{where}: password.{name} must be a whole number")
        rules = cls(**data)
        if rules.min_length < 1:
            raise ValueError(f"{where}: password.min_length must be at least 1")
        if rules.max_length < rules.min_length:
            raise ValueError(
                f"{where}: password.max_length must not be less than password.min_length "
                f"({rules.max_length} < {rules.min_length})"
            )
        if not 1 <= rules.min_character_classes <= len(CHARACTER_CLASSES):
            raise ValueError(f"{where}: password.min_character_classes must be from 1 to 4")
        if not 0 <= rules.min_strength <= 4:
            raise ValueError(f"{where}: password.min_strength must be from 0 to 4")
        return rules


def check_password(password: str, rules: PasswordRules, personal: Sequence[str] = ()) -> str | None:
    """None when the password is acceptable, else one message naming the rule it breaks.

    ``personal`` holds what the person told us about themselves (given name, surname,
    email address); a password built on any of them is refused::

        check_password("Tq7#mZp2vL", PasswordRules())        # None
        check_password("tq7mzp2vl", PasswordRules())
        # "Password must have at least 3 of: ... Add an uppercase letter or a symbol"
    """
    # Cheapest first, so zxcvbn runs only for a password that meets every other rule.
    if not password:
        return ENTER_A_PASSWORD
    if len(password) < rules.min_length:
        return TOO_SHORT.format(min_length=rules.min_length)
    if len(password) > rules.max_length:
        return TOO_LONG.format(max_length=rules.max_length)
    classes_problem = _character_classes_problem(password, rules.min_character_classes)
    if classes_problem:
        return classes_problem
    if rules.refuse_guessable:
        return _guessability_problem(password, rules.min_strength, personal_inputs(personal))
    return None


def personal_inputs(personal: Iterable[str]) -> list[str]:
    """Each personal value, plus its words and its email's local part and the local part's words.

    ``["Mary-Jane", "mj.smith_1983@example.com"]`` gives "mary-jane", "mary", "jane",
    "mj.smith_1983@example.com", "mj.smith_1983", "smith" (and "mj", too short to refuse on
    its own but still useful to zxcvbn).
    """
    found: dict[str, None] = {}  # a dict keeps the first-seen order without repeats
    for value in personal:
        value = _fold(value.strip())
        if not value:
            continue
        found[value] = None
        local = value.split("@", 1)[0] if "@" in value else value
        found[local] = None
        # Email local parts join words with . _ - and digits ("jenny.hinsen83"); names with
        # spaces, hyphens and apostrophes ("Mary-Jane O'Neil").
        for part in re.split(r"[\s._\-'\u2019\d]+", local):
            if part:
                found[part] = None
    return list(found)


def _character_classes_problem(password: str, needed: int) -> str | None:
    present = {_character_class(character) for character in password}
    if len(present) >= needed:
        return None
    missing = [name for name in CHARACTER_CLASSES if name not in present]
    to_add = needed - len(present)
    if to_add == len(missing):
        advice = "Add " + _join(missing, "and")
    elif to_add == 1:
        advice = "Add " + _join(missing, "or")
    else:
        advice = f"Add {to_add} of: " + ", ".join(missing)
    return f"{TOO_FEW_CLASSES.format(count=needed)}. {advice}"


def _character_class(character: str) -> str:
    # islower/isupper/isdigit rather than ASCII ranges, so "é" is a lowercase letter and
    # "Ж" an uppercase one; anything else, including £ and spaces, is a symbol.
    if character.islower():
        return LOWERCASE
    if character.isupper():
        return UPPERCASE
    if character.isdigit():
        return DIGIT
    return SYMBOL


def _guessability_problem(password: str, min_strength: int, personal: list[str]) -> str | None:
    folded = _fold(password)
    if any(len(p) >= MIN_PERSONAL_LENGTH and p in folded for p in personal):
        return CONTAINS_PERSONAL
    with _zxcvbn_lock:
        result = zxcvbn(password[:ZXCVBN_LIMIT], user_inputs=personal, max_length=ZXCVBN_LIMIT)
    # zxcvbn also finds the person's name written backwards or in l33t ("J3nny").
    for match in result["sequence"]:
        if (
            match.get("dictionary_name") == "user_inputs"
            and len(match["token"]) >= MIN_PERSONAL_LENGTH
        ):
            return CONTAINS_PERSONAL
    if result["score"] < min_strength:
        return TOO_GUESSABLE
    if (
        min_strength == 2
        and result["score"] < 3
        and _mostly_common_word(password, result["sequence"])
    ):
        # 'Summer2023!' scores 2 because the digits and the symbol add guesses, yet it is
        # a common word with the year and "!" that every guessing list tries first.
        return TOO_GUESSABLE
    return None


def _mostly_common_word(password: str, sequence: list[dict[str, Any]]) -> bool:
    """A dictionary word of four or more letters makes up at least half the password."""
    worded = sum(
        len(m["token"])
        for m in sequence
        if m.get("pattern") == "dictionary" and len(m["token"]) >= 4
    )
    return worded * 2 >= len(password)


def _fold(text: str) -> str:
    # Case and accents removed, so "Zoë" is found in "zoe2024!" and "STRASSE" in "straße".
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _join(items: Sequence[str], conjunction: str) -> str:
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"

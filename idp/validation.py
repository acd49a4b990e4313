"""Checks on plain values shared by pages, the CLI and the admin tools."""

from __future__ import annotations

import re

# Deliberately loose (RFC 5322 allows far more); it catches the mistakes people make:
# a missing part, a space, no dot in the domain. The verification email settles the rest.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def is_email_address(value: str) -> bool:
    return bool(_EMAIL.match(value.strip()))


def normalise_email(email: str) -> str:
    """The form an email takes as a local identity's subject: trimmed, lower-cased."""
    return email.strip().lower()

"""Authenticator apps: time-based one-time passwords (RFC 6238) as NIST SP 800-63B §5.1.4.

The person scans a QR code (or types the secret) into an app; from then on the app shows a
6-digit code that changes every 30 seconds. The secret is kept server-side; the only state
a check needs besides it is the last time step accepted, so no code works twice::

    secret = new_secret()                                        # keep it with the account
    uri = provisioning_uri(secret, "alice@example.com", "Contoso")
    page_shows(qr_svg(uri), grouped(secret))                      # scan, or type by hand
    step = verify_totp(secret, "123 456", clock.now(), last_used_step=None)
    # step: 58907520, keep it; None means refuse
    verify_totp(secret, "123 456", clock.now(), last_used_step=step)   # None: used once

Counting and limiting failed attempts (§5.2.2) is the caller's job, as for ``codes``.
"""

from __future__ import annotations

import hmac
import unicodedata
from datetime import datetime
from urllib.parse import quote, urlencode

import pyotp
import segno

# What Google Authenticator, Microsoft Authenticator, Authy and 1Password all support;
# several apps silently ignore other values and then show codes that never match.
DIGITS = 6
PERIOD = 30
ALGORITHM = "SHA1"
# 32 base32 characters are 160 bits, the HMAC-SHA1 key size RFC 4226 §4 recommends.
SECRET_LENGTH = 32
# Module size in CSS pixels: a version 7-8 code (the size of our URIs) comes out near 280 px,
# which phone cameras read from a laptop screen at arm's length.
QR_SCALE = 5
QR_TITLE = "QR code to add this account to your authenticator app"


def new_secret() -> str:
    """A fresh shared secret in base32, 160 bits from the ``secrets`` module.

    Keep it with the account (it is a key, not a hash: the server needs it to check codes)::

        new_secret()   # "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    """
    # pyotp draws from secrets.SystemRandom and refuses fewer than 160 bits.
    return pyotp.random_base32(length=SECRET_LENGTH)


def provisioning_uri(secret: str, account_name: str, issuer: str) -> str:
    """The ``otpauth://`` URI that an authenticator app reads from the QR code.

    It follows Google's Key Uri Format, the one every common app reads. Digits, period and
    algorithm are written out even at their defaults, so no app has to guess::

        provisioning_uri(secret, "alice@example.com", "Contoso")
        # "otpauth://totp/Contoso:alice@example.com?secret=JBSW…&issuer=Contoso
        #  &algorithm=SHA1&digits=6&period=30"
    """
    # Key Uri Format: the label is "issuer:account", so neither may contain a colon.
    for part, value in (("account name", account_name), ("issuer", issuer)):
        if not value or ":" in value:
            raise ValueError(f"the {part} must be non-empty and contain no colon: {value!r}")
    label = f"{quote(issuer, safe='')}:{quote(account_name, safe='@')}"
    parameters = {
        "secret": secret,
        # The issuer parameter as well as the label prefix: newer apps read only the former.
        "issuer": issuer,
        "algorithm": ALGORITHM,
        "digits": DIGITS,
        "period": PERIOD,
    }
    # quote, not quote_plus: several apps show a "+" in the issuer's name literally.
    return f"otpauth://totp/{label}?{urlencode(parameters, quote_via=quote)}"


def qr_svg(uri: str, title: str = QR_TITLE) -> str:
    """The URI as an inline ``<svg>`` element to put straight into an HTML page.

    Black modules on white with the standard 4-module quiet zone, so it scans in dark mode
    too; a ``<title>`` names it for screen readers. The URI is drawn as path data, never
    written as text, and segno escapes the title, so the markup holds no script::

        qr_svg(uri)
        # '<svg role="img" width="285" height="285" class="segno"><title>QR code…</title>…'
    """
    # Level M survives glare and a slightly blurred camera; segno raises it when it is free.
    code = segno.make_qr(uri, error="m")
    svg = code.svg_inline(scale=QR_SCALE, border=4, dark="#000", light="#fff", title=title)
    # role="img" makes screen readers announce the title rather than walk into the paths.
    return svg.replace("<svg ", '<svg role="img" ', 1)


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app that cannot scan.

    Apps ignore the spaces, and four characters at a time are easier to check::

        grouped("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
        # "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP"
    """
    return " ".join(secret[start : start + 4] for start in range(0, len(secret), 4))


def verify_totp(
    secret: str,
    given: str,
    now: datetime,
    last_used_step: int | None,
    drift_steps: int = 1,
) -> int | None:
    """The time step whose code was typed, or None to refuse it.

    Codes for the current 30-second step and ``drift_steps`` either side are accepted, for
    clocks that disagree a little and people who type slowly (RFC 6238 §5.2). Keep the step
    returned and pass it back next time: a step at or before it is refused, so a code is
    never accepted twice, nor an older one after a newer one (NIST SP 800-63B §5.1.4.2)::

        step = verify_totp(secret, "123 456", now, last_used_step=None)    # 58907520
        verify_totp(secret, "123456", now, last_used_step=step)            # None
    """
    if drift_steps < 0:
        raise ValueError(f"drift_steps cannot be negative, not {drift_steps}")
    code = _normalise(given)
    if code is None:
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    current = totp.timecode(_aware(now))
    matched: int | None = None
    # Every candidate is compared, each in constant time, so the time taken does not say
    # which step matched. The latest match wins: should two steps share a code, returning
    # the earlier one would let the same code through again in the later step.
    for step in range(max(0, current - drift_steps), current + drift_steps + 1):
        if last_used_step is not None and step <= last_used_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            matched = step
    return matched


def _normalise(given: str) -> str | None:
    """The code typed, as ASCII digits, or None if it cannot be a code.

    Apps show "123 456", so whitespace is dropped; any other non-digit refuses the code.
    """
    compact = "".join(given.split())
    if len(compact) != DIGITS or not all(character.isdecimal() for character in compact):
        return None
    # Any script's digits (Arabic-Indic, full-width forms) read as the ASCII digits, as in codes.
    return "".join(str(unicodedata.decimal(character)) for character in compact)


def _aware(now: datetime) -> datetime:
    # pyotp reads a naive datetime as local time, which would shift every step by the offset.
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("TOTP times must be timezone-aware (UTC)")
    return now

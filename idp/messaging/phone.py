"""Text messages and voice calls as Gatehouse composes them, and the senders' one method each.

MFA steps build a ``TextMessage`` or a ``VoiceCall`` and hand it to whichever sender the
deployment configured (``idp.messaging.senders``); they never know whether it goes through
GOV.UK Notify, Twilio or into the development outbox::

    sms.send_sms(TextMessage(to="+447700900123", body=f"Your security code is {code}",
                             kind="mfa_code", data={"code": code}))
    voice.call(VoiceCall(to="+441164960123", spoken=spoken_code(code),
                         kind="mfa_code", data={"code": code}))

Numbers are E.164 (``+`` and country code, no spaces): normalise what people type with
``phonenumbers`` before building a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

# ITU-T E.164: a country code and subscriber number of at most 15 digits in all.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")

# A voice call reads each paragraph of ``VoiceCall.spoken`` with a pause between them.
PARAGRAPH_BREAK = "\n\n"


def is_e164(number: str) -> bool:
    """Whether ``number`` is written as E.164, e.g. ``+447700900123``."""
    return _E164.fullmatch(number) is not None


def _check_recipient(to: str) -> None:
    if not is_e164(to):
        # The number itself stays out: this may be logged, and it is personal data.
        raise ValueError("the recipient is not a phone number in E.164 form, such as +441164960123")


@dataclass(frozen=True)
class TextMessage:
    """One text message (SMS) to one phone number.

    ``kind`` and ``data`` play the part they play in ``Email``: the outbox writes them so
    developers and tests can read the code without parsing ``body``; no provider sees them.

    Example::

        TextMessage(to="+447700900123", body="Your security code is 481592",
                    kind="mfa_code", data={"code": "481592"})
    """

    to: str
    body: str
    kind: str = ""
    # hash=False: a dict cannot be hashed, and the dataclass would otherwise try.
    data: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        _check_recipient(self.to)


@dataclass(frozen=True)
class VoiceCall:
    """One phone call that reads ``spoken`` aloud with a text-to-speech voice.

    Paragraphs of ``spoken`` (separated by a blank line) are read with a one-second
    pause between them; ``spoken_code`` writes them so.

    Example::

        VoiceCall(to="+441164960123", spoken=spoken_code("481592"),
                  kind="mfa_code", data={"code": "481592"})
    """

    to: str
    spoken: str
    kind: str = ""
    data: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        _check_recipient(self.to)


class SmsSender(Protocol):
    """Delivers a text message or raises ``MessageNotSent``.

    Example::

        def send_code(sender: SmsSender, number: str, code: str) -> None:
            sender.send_sms(TextMessage(to=number, body=f"Your code is {code}"))
    """

    def send_sms(self, message: TextMessage) -> None: ...


class VoiceSender(Protocol):
    """Makes a call that reads a message aloud, or raises ``MessageNotSent``.

    Example::

        def ring_code(sender: VoiceSender, number: str, code: str) -> None:
            sender.call(VoiceCall(to=number, spoken=spoken_code(code)))
    """

    def call(self, call: VoiceCall) -> None: ...


def spoken_code(code: str) -> str:
    """What a call says to read ``code`` out: each digit apart, slowly, and then again.

    Commas make a text-to-speech voice pause between digits, so "481592" is heard as six
    digits rather than "four hundred and eighty-one thousand..."; saying it twice lets
    someone who missed a digit, or was still lifting the phone, catch it.

    Example::

        spoken_code("481592")
        # "Your security code is 4, 8, 1, 5, 9, 2.\\n\\nI will say that again. 4, 8, 1, 5, 9, 2."
    """
    characters = [character for character in code if not character.isspace()]
    if not characters:
        raise ValueError("there is no code to read out")
    digits = ", ".join(characters)
    return f"Your security code is {digits}.{PARAGRAPH_BREAK}I will say that again. {digits}."


def spoken_paragraphs(spoken: str) -> list[str]:
    """The parts of ``spoken`` to read with a pause between each, without blank ones."""
    return [part.strip() for part in spoken.split(PARAGRAPH_BREAK) if part.strip()]

"""The one failure every way of sending a message reports, whatever the channel.

Callers catch ``MessageNotSent`` (or ``EmailNotSent`` for email alone) and show the person
a "we could not send it, try again" page; the message is safe to log and audit::

    try:
        sender.send_sms(TextMessage(to="+447700900123", body=text))
    except MessageNotSent as error:
        audit("sms_not_sent", reason=str(error))
"""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "[redacted]"

# Shorter values (a status such as "400", a one-word body) would blank out ordinary
# words of a provider's answer, and are not secrets worth hiding from it.
_SHORTEST_REDACTED = 4


class MessageNotSent(Exception):
    """An email, text message or call could not be sent; the message says where and why.

    It names the service (an SMTP host, GOV.UK Notify, Twilio) and its answer, never an
    API key, auth token, password, one-time code or the message's body.

    Example::

        MessageNotSent("text message not sent through Twilio: the service answered 500 "
                       "(error 20500: An internal server error has occurred)")
    """


def redact(text: str, secrets: Iterable[object]) -> str:
    """``text`` with every occurrence of each secret replaced by ``[redacted]``.

    Providers' error answers are not ours to trust: one that echoes the body or the
    code back must not carry it into our logs.

    Example::

        redact("bad body: Your code is 123456", ["123456"])   # "bad body: Your code is [redacted]"
    """
    values = {str(secret) for secret in secrets if secret is not None}
    # Longest first, so a body containing the code is hidden whole, not in pieces.
    for value in sorted(values, key=len, reverse=True):
        if len(value) >= _SHORTEST_REDACTED:
            text = text.replace(value, REDACTED)
    return text

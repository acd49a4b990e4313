"""An email as Gatehouse composes it, and the one method every way of sending it offers.

Journey steps build an ``Email`` and hand it to whichever ``EmailSender`` the deployment
configured (``idp.messaging.senders``); they never know whether it goes over SMTP or into
the development outbox::

    sender.send(
        Email(
            to="amina@example.com",
            subject="Your verification code",
            text="Your code is 123456",
            html="<p>Your code is <strong>123456</strong></p>",
            kind="verification_code",
            data={"code": "123456"},
        )
    )
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from idp.messaging.errors import MessageNotSent


@dataclass(frozen=True)
class Email:
    """One message to one person, in plain text and HTML.

    ``kind`` names the message ("verification_code", "activation") and ``data`` carries
    what a development or test reader of the outbox wants without parsing the body, such
    as ``{"code": "123456"}`` or ``{"link": url}``. Neither is ever sent over SMTP. Values
    in ``data`` must be JSON-serialisable, because the outbox writes them as JSON.

    Example::

        Email(to="amina@example.com", subject="Activate your account",
              text=f"Open {url}", html=f'<a href="{url}">Activate</a>',
              kind="activation", data={"link": url})
    """

    to: str
    subject: str
    text: str
    html: str
    kind: str = ""
    # hash=False: a dict cannot be hashed, and the dataclass would otherwise try.
    data: dict[str, Any] = field(default_factory=dict, hash=False)


class EmailSender(Protocol):
    """Delivers an email or raises ``EmailNotSent``.

    Example::

        def send_code(sender: EmailSender, address: str, code: str) -> None:
            sender.send(Email(to=address, subject="Your code", text=code, html=code))
    """

    def send(self, email: Email) -> None: ...


class EmailNotSent(MessageNotSent):
    """The email could not be sent; the message says where it was going and why.

    It never contains the SMTP password, the Notify API key or the body, so it can be
    logged and audited. Code that handles every channel alike catches ``MessageNotSent``.
    """

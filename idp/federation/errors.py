"""Why a federated sign-in did not finish, in words for the person and for the logs.

Each failure has a ``reason`` the journey can branch on, a ``message`` safe to show the
person (plain English, saying what to do next) and a ``detail`` for logs and the audit
trail. Neither ever holds a secret, a code or a token::

    raise FederationFailure.because("cancelled", "Google", "error=access_denied")
    # .message == "You cancelled signing in with Google. Choose how to sign in."
"""

from __future__ import annotations

import re

REASONS = ("cancelled", "unavailable", "state", "token", "not_configured")

MESSAGES = {
    "cancelled": "You cancelled signing in with {label}. Choose how to sign in.",
    # An error from the provider other than access_denied: the person may not have
    # cancelled, so do not say they did.
    "refused": "Signing in with {label} did not finish. Choose how to sign in.",
    "unavailable": (
        "{label} is not answering just now. Try again in a few minutes, or sign in another way."
    ),
    "state": (
        "Your sign-in with {label} could not be finished, perhaps because it took too "
        "long or was started in another tab or window. Start again."
    ),
    "token": "{label} could not confirm who you are. Try again, or sign in another way.",
    "not_configured": (
        "Signing in with {label} is not available here. Choose another way to sign in."
    ),
}


class FederationFailure(Exception):
    """A federated sign-in that cannot go on.

    ``reason`` is one of ``REASONS``:

    * ``cancelled``: the provider answered with an error (``access_denied``: the person
      said no);
    * ``unavailable``: the provider could not be reached, timed out or answered 5xx;
    * ``state``: the answer does not belong to a sign-in this browser started;
    * ``token``: the provider's tokens or profile could not be trusted or used;
    * ``not_configured``: the provider is not switched on here.
    """

    def __init__(self, reason: str, message: str, detail: str = "") -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown federation failure reason {reason!r}")
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.message = message
        self.detail = detail

    @classmethod
    def because(
        cls, reason: str, label: str, detail: str = "", wording: str | None = None
    ) -> FederationFailure:
        """The failure for ``reason`` at the provider called ``label`` ("Google").

        ``wording`` picks another message from ``MESSAGES`` for the same reason.
        """
        message = MESSAGES[wording or reason].format(label=label)
        return cls(reason, message, detail)


def loggable(text: object, limit: int = 200) -> str:
    """Provider-supplied text made safe for one log line.

    An ``error_description`` arrives in a query string anyone can craft: keep it short
    and printable, so it cannot forge log lines.
    """
    return re.sub(r"[^\x20-\x7e]", "?", str(text))[:limit]

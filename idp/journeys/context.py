"""Named context keys: the only way steps share data (STYLE.md, habit 6)."""

from __future__ import annotations

# Who the journey has established, and how.
USER_OBJECT_ID = "user.object_id"
NEW_USER = "user.new"
ROUTE = "auth.route"
AMR = "auth.amr"

# What the authorization request brought.
LOGIN_HINT = "request.login_hint"

# What the sign-in page remembers between attempts.
SIGNIN_EMAIL = "signin.email"


def N_(message: str) -> str:
    """Marks text for translation without translating it here; views translate (Flask-Babel)."""
    return message

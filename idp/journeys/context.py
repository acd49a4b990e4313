"""Named context keys: the only way steps share data (STYLE.md, habit 6)."""

from __future__ import annotations

# Who the journey has established, and how.
USER_OBJECT_ID = "user.object_id"
NEW_USER = "user.new"
ROUTE = "auth.route"
AMR = "auth.amr"
#: When the person last proved who they are (epoch seconds).
AUTH_TIME = "auth.time"
#: The browser session the journey began with; kept only while no step signs in anew.
SESSION_SID = "auth.session_sid"
#: "Keep me signed in" ticked on the sign-in page (honoured where the policy allows it).
KEEP_SIGNED_IN = "auth.keep_signed_in"

# What the authorization request brought.
LOGIN_HINT = "request.login_hint"

# What the sign-in page remembers between attempts, and which link the person followed
# from it ("sign_up" or "password_reset"); policies branch on it with ``chose:``.
SIGNIN_EMAIL = "signin.email"
CHOICE = "journey.choice"

# Email verification by code: the address being verified, the code's record (hashed),
# when the last code went, how many went, and the address once proven.
EMAIL_PENDING = "email.pending"
EMAIL_CODE = "email.code"
EMAIL_SENT_AT = "email.sent_at"
EMAIL_SENDS = "email.sends"
EMAIL_VERIFIED = "email.verified"

# A new password, kept only as its argon2id hash between the page and the saving step.
PASSWORD_HASH = "password.hash"

# Agreement to the privacy policy given on a page of this journey: {"version", "at"}.
PRIVACY_CONSENT = "consent.privacy"

# Activation by link: the pending sign-up waiting for its link (the page reads the same
# whether or not the address already had an account).
ACTIVATION_REF = "activation.reference"
ACTIVATION_EMAIL = "activation.email"
ACTIVATION_SENT_AT = "activation.sent_at"
ACTIVATION_SENDS = "activation.sends"

# Multi-factor authentication: the code in flight ({"record", "method", "to"}), when the
# last went and how many went, a phone being enrolled ({"number", "type"}), and an
# authenticator app's secret and recovery codes while they are being set up (sealed).
MFA_CODE = "mfa.code"
MFA_SENT_AT = "mfa.sent_at"
MFA_SENT_TO = "mfa.sent_to"  # {"sms:+44…": epoch seconds}: the cool-down per destination
MFA_SENDS = "mfa.sends"
MFA_PHONE = "mfa.phone"
MFA_APP_SECRET = "mfa.app_secret"
MFA_RECOVERY_CODES = "mfa.recovery_codes"

# Signing in with an upstream provider: which one, what came back (an UpstreamIdentity
# as a dict) or why it failed ({"reason", "message"}), and the route this browser used
# last (from its cookie: "local" or a provider, never an email).
FEDERATION_PROVIDER = "federation.provider"
FEDERATION_RESULT = "federation.result"
FEDERATION_ERROR = "federation.error"
LAST_ROUTE = "request.last_route"

# A step's form-in-progress state (address lookup results, manual entry) by step id.
FORM_STATE = "form.state"

#: Claims about the person live under this prefix: ``claims.given_name``.
CLAIMS = "claims."


def claim(name: str) -> str:
    """The context key of a claim: ``claim("given_name") == "claims.given_name"``."""
    return CLAIMS + name


def claims_in(context: dict[str, object]) -> dict[str, object]:
    """The claims a journey has gathered, by claim name."""
    return {k[len(CLAIMS) :]: v for k, v in context.items() if k.startswith(CLAIMS)}


def N_(message: str) -> str:
    """Marks text for translation without translating it here; views translate (Flask-Babel)."""
    return message

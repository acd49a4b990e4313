"""The two portals this app plays, registered as Gatehouse's client files say
(clients/parent-portal.toml, clients/blue-badge.toml), and the Blue Badge portal's demo
payments."""

from __future__ import annotations

from dataclasses import dataclass

PROFILE_EDIT = "B2C_1_profile_edit"
PHONE_CHANGE = "B2C_1_phone_change"
PASSWORD_RESET = "B2C_1_password_reset"
ACCOUNT_POLICIES = (PROFILE_EDIT, PHONE_CHANGE, PASSWORD_RESET)

# What every request asks for; offline_access brings a refresh token, as MSAL always asks.
SCOPE = "openid profile email phone offline_access"


@dataclass(frozen=True)
class Portal:
    """One relying portal: its place in this app (``/{key}/``) and its registration."""

    key: str
    title: str
    client_id: str
    token_endpoint_auth_method: str
    secret_env: str
    sign_in_policy: str
    # Whether the portal shows "Your payment is due..." from PAYMENTS (the Blue Badge guide).
    takes_payments: bool = False

    @property
    def policies(self) -> tuple[str, ...]:
        return (self.sign_in_policy, *ACCOUNT_POLICIES)

    def registration_name(self, policy: str) -> str:
        """authlib's name for this portal's client at one policy's authority."""
        return f"{self.key}_{policy}"

    def redirect_path(self) -> str:
        return f"/{self.key}/auth/callback"

    def post_logout_path(self) -> str:
        return f"/{self.key}/"


PARENT_PORTAL = Portal(
    key="parent",
    title="Leicestershire County Council Parent Portal",
    client_id="parent-portal",
    token_endpoint_auth_method="client_secret_post",
    secret_env="IDP_CLIENT_SECRET_PARENT_PORTAL",
    sign_in_policy="B2C_1_parent_signup_signin",
)
BLUE_BADGE = Portal(
    key="bluebadge",
    title="Leicestershire Services Portal",
    client_id="blue-badge",
    token_endpoint_auth_method="client_secret_basic",
    secret_env="IDP_CLIENT_SECRET_BLUE_BADGE",
    sign_in_policy="B2C_1_bluebadge_signup_signin",
    takes_payments=True,
)
PORTALS = (PARENT_PORTAL, BLUE_BADGE)


@dataclass(frozen=True)
class Payment:
    """A payment the Blue Badge portal asks for. Demo data: nothing is ever charged."""

    reference: str
    description: str
    amount: str
    due: str


PAYMENTS = (
    Payment(
        reference="BB-2027-0142",
        description="Blue Badge renewal fee",
        amount="£10.00",
        due="15 January 2027",
    ),
)


def payment(reference: str) -> Payment | None:
    return next((p for p in PAYMENTS if p.reference == reference), None)

"""Sign in with Microsoft, Google, Facebook or a further OpenID provider (the upstream side).

``Federation`` registers the switched-on providers on authlib's Flask client and turns a
provider's answer into an ``UpstreamIdentity`` or a ``FederationFailure``::

    federation = Federation.from_settings(app, settings)
    return federation.begin("google", callback_url)          # in the start view
    identity = federation.finish("google")                    # in the callback view
"""

from __future__ import annotations

from idp.federation.errors import REASONS, FederationFailure
from idp.federation.identity import MICROSOFT_CONSUMER_TENANT, UpstreamIdentity
from idp.federation.registry import Federation

__all__ = [
    "MICROSOFT_CONSUMER_TENANT",
    "REASONS",
    "Federation",
    "FederationFailure",
    "UpstreamIdentity",
]

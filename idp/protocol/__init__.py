"""The OIDC/OAuth surface on authlib: endpoints, grants, discovery, keys and logout.

It knows nothing of pages: it hands an authorization request to the journey engine and
gets back a finished authentication (idp/journeys/interface.py).
"""

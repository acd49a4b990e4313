"""Moving a tenant's people to Gatehouse from elsewhere (Azure AD B2C first).

* ``b2c``: read Microsoft Graph user exports and upsert them, keeping each objectId as
  the subject (``idp migrate b2c import``).
* ``verifier``: check a password with the old tenant's token endpoint.
* ``passwords``: the first sign-in of an imported account, and emailed links to set a
  password when the old tenant cannot say (``idp migrate b2c remind``).
"""

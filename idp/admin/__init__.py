"""Admin and support: the operations (operations.py), who may run them (roles.py), and
the three ways in: the JSON API (api.py), the pages (pages.py) and the ``idp`` CLI."""

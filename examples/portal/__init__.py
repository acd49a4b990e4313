"""An example relying portal: plays the Leicestershire County Council Parent Portal and the
Leicestershire Services Portal (Blue Badge), signing people in through Gatehouse with
authlib's Flask client, exactly as clients/parent-portal.toml and clients/blue-badge.toml
register them.

    python -m examples.portal            # http://127.0.0.1:5001 (make run starts it)
"""

from __future__ import annotations

from examples.portal.app import create_app

__all__ = ["create_app"]

"""``python -m examples.portal [--host 127.0.0.1] [--port 5001]``: serve the example portal
with Flask's development server (``make run`` starts it beside Gatehouse)."""

from __future__ import annotations

import argparse

from examples.portal import create_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m examples.portal", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    # The client files register redirect URIs on port 5001; another port needs them changed.
    parser.add_argument("--port", type=int, default=5001)
    args = parser.parse_args()
    app = create_app()
    print(
        f"Example portal on {app.config['PORTAL_BASE_URL']}/ "
        f"(signs in through {app.config['GATEHOUSE_AUTHORITY']})",
        flush=True,
    )
    app.run(host=args.host, port=args.port, use_reloader=False)


if __name__ == "__main__":
    main()

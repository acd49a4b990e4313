"""Production serving: gunicorn, with the application built once per worker."""

from __future__ import annotations

from typing import Any

from flask import Flask


def run_gunicorn(app: Flask, host: str, port: int, workers: int, cert: str, key: str) -> None:
    from gunicorn.app.base import BaseApplication

    class Gatehouse(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": "sync",
                "accesslog": "-",
            }
            if cert and key:
                options.update(certfile=cert, keyfile=key)
            for name, value in options.items():
                self.cfg.set(name, value)

        def load(self) -> Flask:
            return app

    Gatehouse().run()

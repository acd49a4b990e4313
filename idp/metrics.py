"""Prometheus metrics: what an operator watches (served at /metrics by idp/ops.py).

* ``gatehouse_events_total{type}``: every audit event as it is written — sign-ins
  (``signin.succeeded``), wrong passwords (``signin.failed``), lockouts
  (``signin.locked_out``), codes sent (``mfa.code_sent``), MFA blocks, admin changes;
* ``gatehouse_tokens_issued_total{kind}``: access and refresh tokens made;
* ``gatehouse_messages_total{channel, outcome}``: emails, texts and calls sent or failed;
* ``gatehouse_request_seconds{endpoint, method, status}``: how long each request took.

Under gunicorn with several workers, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder
so every worker's counts are summed (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EVENTS = Counter("gatehouse_events", "Audit events written, by type.", ["type"])
TOKENS_ISSUED = Counter("gatehouse_tokens_issued", "Tokens issued, by kind.", ["kind"])
MESSAGES = Counter(
    "gatehouse_messages", "Emails, texts and calls, by channel and outcome.",
    ["channel", "outcome"],
)
REQUEST_SECONDS = Histogram(
    "gatehouse_request_seconds",
    "Time to answer a request, by endpoint, method and status class.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

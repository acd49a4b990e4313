"""The benchmark's report (bench/report.py): targets judged from figures, the side-by-side
table, and the /proc CPU reading the figures rest on. The benchmark itself is `make bench`;
nothing here times anything."""

from __future__ import annotations

import os

from bench.report import table, targets
from bench.run import Figures, Run, cpu_seconds, process_tree


def figures(server: str, scenario: str, requests: int, cpu: float, p99: float = 5.0,
            connections: int = 16, rss: float = 100.0) -> Figures:
    return Figures(scenario, server, connections, requests, 0, 10.0, cpu, 1.0, p99, rss)


def test_targets_are_judged_per_cpu_second_and_against_the_peer() -> None:
    run = Run(argon2={"configured": {"per_cpu_second": 5.0}})
    run.figures = [
        figures("gatehouse-sqlite", "client_credentials", 12_000, 10.0),    # 1,200 per CPU-s
        figures("oidc-provider", "client_credentials", 30_000, 10.0),       # 3,000 per CPU-s
        figures("gatehouse-sqlite", "refresh_token", 5_000, 10.0),           # 500 per CPU-s
        figures("gatehouse-sqlite", "password sign-in", 41, 10.0, connections=4),
        figures("gatehouse-sqlite", "client_credentials (sweep)", 1000, 1.0, p99=20.0),
        figures("gatehouse-sqlite", "client_credentials (sweep)", 2100, 2.0, p99=80.0),
        figures("gatehouse-sqlite", "discovery", 100, 1.0, rss=160.0),
    ]
    judged = {target: met for target, _, met in targets(run)}
    assert judged["gatehouse-sqlite: client_credentials ≥ 1,000 per CPU-s"] is True
    assert judged["gatehouse-sqlite: client_credentials ≥ 0.5 x peer per CPU-s"] is False
    assert judged["gatehouse-sqlite: refresh_token ≥ 600 per CPU-s"] is False
    assert judged["gatehouse-sqlite: password sign-ins ≥ 80% of raw argon2id per CPU-s"]
    # Half of the 210/s peak is nearest the 100/s point, whose p99 is 20 ms.
    assert judged["p99 < 50 ms at half the peak rate (client_credentials)"] is True
    assert judged["worker memory < 150 MB"] is False
    rows = table(run)
    assert rows[2].startswith("| discovery |") and "n/a" in rows[2]
    assert "| client_credentials | 1,200 |" in rows[4] and rows[4].endswith(" 0.40 |")


def test_cpu_time_is_read_for_a_process_and_its_children() -> None:
    own = process_tree(os.getpid())
    assert own[0] == os.getpid()
    before = cpu_seconds(own)
    sum(i * i for i in range(300_000))
    assert cpu_seconds(own) > before

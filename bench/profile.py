"""Profile one Gatehouse worker under load: where a scenario's CPU goes (py-spy).

Starts Gatehouse as bench/run.py does (``idp serve``, here with one gunicorn worker so one
process holds the whole profile), loads it with wrk for each scenario named, and samples
the worker with py-spy meanwhile. Writes a speedscope profile per scenario to
bench/results/profiles/ and prints the functions with the most samples, inclusive
(the function and what it calls) and by self time.

    .venv/bin/python bench/profile.py client_credentials refresh_token discovery
    .venv/bin/python bench/profile.py --database postgresql client_credentials

Needs py-spy (bench/requirements.txt) and root or ptrace rights over the worker.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PROFILES = HERE / "results" / "profiles"
SCRIPTS = {
    "discovery": "discovery.lua",
    "jwks": "jwks.lua",
    "client_credentials": "client_credentials.lua",
    "userinfo": "userinfo.lua",
    "introspection": "introspect.lua",
    "refresh_token": "refresh.lua",
}


def summarise(collapsed: Path, top: int) -> list[str]:
    """The top functions of a py-spy ``raw`` (collapsed stacks) profile."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [frame for frame in stack.split(";") if frame]
        for frame in set(frames):
            inclusive[frame] += count
        if frames:
            own[frames[-1]] += count
    lines = [f"  {total} samples", "  inclusive:"]
    lines += [f"    {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    lines.append("  self:")
    lines += [f"    {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    return lines


def main() -> int:
    from bench import run as bench

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenarios", nargs="+", choices=sorted(SCRIPTS))
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--native", action="store_true",
                        help="with C frames too (py-spy --native)")
    parser.add_argument("--all-threads-running", action="store_true", dest="running",
                        help="sample whenever the worker runs, not only while it holds the GIL "
                             "(so C code that releases it, such as SQLite's, is counted)")
    options = parser.parse_args()
    if shutil.which("py-spy") is None and not (ROOT / ".venv" / "bin" / "py-spy").exists():
        print("profile: py-spy is not installed (pip install -r bench/requirements.txt)")
        return 2
    py_spy = shutil.which("py-spy") or str(ROOT / ".venv" / "bin" / "py-spy")
    PROFILES.mkdir(parents=True, exist_ok=True)
    mailbox = bench.Mailbox()
    scratch = Path(tempfile.mkdtemp(prefix="gatehouse-profile-"))
    try:
        with bench.database(options.database, scratch) as url:
            server = bench.Gatehouse("gatehouse-profile", url, scratch / "server", mailbox.port,
                                     workers=1)
            try:
                signed_in = bench.gatehouse_sign_in(server, server.emails[0])
                refresh = [bench.gatehouse_sign_in(server, server.emails[i % 4])["refresh_token"]
                           for i in range(options.connections)]
                bench.set_wrk_environment(server, signed_in)
                worker = server.workers()[0]
                for scenario in options.scenarios:
                    name = (f"{scenario}-{options.database}"
                            + ("-running" if options.running else "")
                            + ("-native" if options.native else ""))
                    raw = PROFILES / f"{name}.txt"
                    speedscope = PROFILES / f"{name}.speedscope.json"
                    spy = subprocess.Popen(
                        [py_spy, "record", "--pid", str(worker), "--rate", "250",
                         "--duration", str(options.seconds), "--format", "raw",
                         *([] if options.running else ["--gil"]),
                         *(["--native"] if options.native else []),
                         "--output", str(raw), *([] if options.native else ["--nonblocking"])],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    before = _user_system(server.pids())
                    try:
                        figures = bench.wrk(
                            server, scenario, SCRIPTS[scenario], options.connections,
                            duration=options.seconds,
                            tokens=refresh if scenario == "refresh_token" else None)
                        spy.wait(timeout=options.seconds + 30)
                    finally:
                        if spy.poll() is None:
                            spy.kill()
                    user, system = (b - a for a, b in zip(
                        before, _user_system(server.pids()), strict=True))
                    print(f"{name}: {figures.rps:.0f}/s, {figures.per_cpu:.0f}/CPU-s "
                          f"(profiled, so slower than unprofiled); CPU {user:.1f} s user, "
                          f"{system:.1f} s system")
                    if raw.exists():
                        print("\n".join(summarise(raw, options.top)))
                        speedscope.write_text(_speedscope(raw))
            finally:
                server.stop()
    finally:
        mailbox.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def _user_system(pids: list[int]) -> tuple[float, float]:
    """User and system CPU seconds of these processes (/proc/<pid>/stat)."""
    import os

    user = system = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        user, system = user + int(fields[11]), system + int(fields[12])
    ticks = os.sysconf("SC_CLK_TCK")
    return user / ticks, system / ticks


def _speedscope(collapsed: Path) -> str:
    """A speedscope "sampled" profile from collapsed stacks (open it at speedscope.app)."""
    import json

    frames: dict[str, int] = {}
    samples: list[list[int]] = []
    weights: list[int] = []
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        samples.append([frames.setdefault(f, len(frames)) for f in stack.split(";") if f])
        weights.append(int(count_text))
    return json.dumps({
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": [{"name": name} for name in frames]},
        "profiles": [{"type": "sampled", "name": collapsed.stem, "unit": "none",
                      "startValue": 0, "endValue": sum(weights),
                      "samples": samples, "weights": weights}],
    })


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())

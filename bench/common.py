"""Helpers shared by the benchmark scripts: machine facts, peak memory, result files."""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def shared_pbp() -> Path:
    """The real nflverse play-by-play folder the benchmarks run on."""
    return Path(os.environ.get("PASSING_SCORE_SHARED", ROOT.parent / "shared" / "nflverse")) / "pbp"


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {"platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "load_average_at_write": [round(x, 2) for x in os.getloadavg()],
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (ru_maxrss, KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def interleaved(fns: dict[str, Callable[[], Any]], repeats: int = 3) -> dict[str, float]:
    """Best wall time of each function, run in turn (a b a b ...) so a change in the
    machine's load hits both sides alike; the ratio of two bests is the figure to quote."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeats):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t)
    return best


def best_of(fn: Callable[[], Any], repeats: int = 3) -> float:
    """Best wall time of a few runs: the least noisy figure on a shared machine."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def write_result(name: str, payload: dict[str, Any], out: Path | None = None) -> Path:
    """Write bench/results/<name>.json (or `out`) with the machine facts attached."""
    out = out if out is not None else RESULTS / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**payload, "machine": machine(),
                               "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                              indent=2) + "\n")
    print(f"wrote {out}")
    return out

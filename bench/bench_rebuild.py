"""Full rebuild of every shared season with the real CLI in child processes: ingest, features,
train, score (then the board export and the season report, timed apart), in a fresh tempdir."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, shared_pbp, write_result

TARGET_SECONDS = 60.0  # issue target: ingest -> scores, training included, idle machine
TARGET_PEAK_MIB = 4096.0
HAVE_PSUTIL = importlib.util.find_spec("psutil") is not None  # the `bench` extra


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants, summed (MiB); 0 when gone."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total / 2**20


def run_stage(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run one `passing-score` verb in a child process; wall seconds and sampled tree peak."""
    cmd = [sys.executable, "-m", "passing_score.pipeline.cli", *args]
    peak = [0.0]
    load_1m = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], tree_rss_mib(proc.pid))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True) if HAVE_PSUTIL else None
    if sampler is not None:
        sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    stop.set()
    if sampler is not None:
        sampler.join()
    if proc.returncode != 0:
        print(out, err)
        raise SystemExit(f"`passing-score {' '.join(args)}` failed ({proc.returncode})")
    lines = [ln for ln in out.splitlines() if ln.strip()]
    print(f"{args[0]}: {seconds:.1f} s" + (f"  ({lines[-1].strip()})" if lines else ""))
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
            "load_average_1m_at_start": round(load_1m, 2),
            "sampled_peak_tree_rss_mib": round(peak[0], 1) if sampler is not None else None,
            "last_line": lines[-1].strip()[:200] if lines else ""}


def main() -> None:
    """Rebuild from scratch once, stage by stage, and write bench/results/rebuild.json."""
    folder = shared_pbp()
    files = sorted(folder.glob("*/*.parquet")) if folder.is_dir() else []
    if not files:
        print(f"skip: no play-by-play files under {folder}")
        return
    newest = max(int(f.parent.name) for f in files)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="rebuild_") as d:
        tmp = Path(d)
        env = {**os.environ, "PASSING_SCORE_DB": str(tmp / "warehouse.duckdb"),
               "PASSING_SCORE_DATA_DIR": str(tmp / "data"),
               "PASSING_SCORE_SHARED": str(folder.parent), "COLUMNS": "160"}
        stages = {
            "ingest": run_stage(["ingest", "--path", str(folder)], env),
            "features": run_stage(["features"], env),
            "train": run_stage(["train"], env),
            "score": run_stage(["score"], env),
        }
        core_maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        outputs = {
            "leaderboard_csv": run_stage(
                ["leaderboard", "--season", str(newest), "--format", "csv", "--out",
                 str(tmp / "data" / "exports" / f"leaderboard_{newest}.csv")], env),
            "report_html": run_stage(
                ["report", "--season", str(newest), "--compare", str(newest - 1), "--out",
                 str(tmp / "data" / "reports" / f"season_{newest}.html")], env),
        }
    load_after = os.getloadavg()
    total = sum(s["seconds"] for s in stages.values())
    sampled = [s["sampled_peak_tree_rss_mib"] for s in stages.values()
               if s["sampled_peak_tree_rss_mib"] is not None]
    peak = max([core_maxrss, *sampled])
    write_result("rebuild", {
        "seasons": sorted(int(f.parent.name) for f in files),
        "stages_seconds": {k: v["seconds"] for k, v in stages.items()},
        "total_seconds": round(total, 2),
        "stages": stages,
        "outputs_seconds": {k: v["seconds"] for k, v in outputs.items()},
        "outputs": outputs,
        "total_with_outputs_seconds": round(total + sum(v["seconds"]
                                                        for v in outputs.values()), 2),
        "peak_child_maxrss_mib": round(core_maxrss, 1),
        "peak_sampled_tree_rss_mib": round(max(sampled), 1) if sampled else None,
        "peak_mib": round(peak, 1),
        "targets": {"total_seconds": TARGET_SECONDS, "peak_mib": TARGET_PEAK_MIB},
        "met": {"total_seconds": total < TARGET_SECONDS, "peak_mib": peak < TARGET_PEAK_MIB},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "note": ("each stage is a fresh `python -m passing_score.pipeline.cli <verb>` process "
                 "(start-up and imports included) on an empty warehouse and data dir in a "
                 "tempdir; train uses its defaults (the production fit: rounds and epochs "
                 "chosen on the newest season with a fit on the earlier ones, then every model "
                 "refitted on all seasons). total = ingest+features+train+score; the board "
                 "export and HTML report that `run` also writes are timed apart. peak = max of "
                 "the largest "
                 "child's ru_maxrss over the four stages and the psutil-sampled sum over each "
                 "child's process tree. No natural peer exists for the whole pipeline: none is "
                 "run."),
    })


if __name__ == "__main__":
    main()

"""bench/RESULTS.md: one table of every benchmark figure, ours beside the peer measured in the
same run, from bench/results/*.json (run last by `make bench`)."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import RESULTS, ROOT


@functools.cache
def _load(name: str) -> dict[str, Any] | None:
    f = RESULTS / f"{name}.json"
    return json.loads(f.read_text()) if f.exists() else None


def _g(d: dict[str, Any] | None, *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        v = f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    elif isinstance(v, int):
        v = f"{v:,}"
    return f"{v}{unit}"


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def _pair(d: dict[str, Any] | None, *path: str) -> str:
    """'p50 / p99' of a latency block."""
    return f"{_fmt(_g(d, *path, 'p50'))} / {_fmt(_g(d, *path, 'p99'))}"


def _ratio(a: float | None, b: float | None, unit: str) -> str:
    return "-" if not a or not b else _fmt(a / b, unit)


def rows() -> list[tuple[str, str, str, str, str]]:
    """(figure, ours, peer, ratio, target) rows from whatever results exist."""
    ing, feat, sbp = _load("ingest"), _load("features"), _load("sbp")
    mod, sco, upd, api = _load("models"), _load("scoring"), _load("update"), _load("api")
    reb, src, pre = _load("rebuild"), _load("sources"), _load("api_before")
    pred = _g(sco, "predictions") or {}
    workers = _g(api, "workers") or {}
    out = [
        ("ingest all shared seasons (s)", _fmt(_g(ing, "ours_seconds")),
         f"DuckDB read_parquet into a table (floor) "
         f"{_fmt(_g(ing, 'floor_duckdb_read_parquet_seconds'))}",
         _fmt(_g(ing, "ratio_ours_over_floor_time"), "x floor"), "1.2x floor"),
        ("re-ingest unchanged files (s)", _fmt(_g(ing, "reingest_unchanged_seconds")), "-", "-",
         "-"),
        ("features full rebuild (plays/s)",
         _fmt(_g(feat, "duckdb_build_dropbacks", "plays_per_s")),
         f"pandas {_fmt(_g(feat, 'pandas_straightforward', 'plays_per_s'))}",
         _fmt(_g(feat, "pandas_over_duckdb_time_ratio"), "x faster"), "1,000,000"),
        ("features peak memory (MiB)", _fmt(_g(feat, "duckdb_build_dropbacks", "peak_rss_mib")),
         f"pandas {_fmt(_g(feat, 'pandas_straightforward', 'peak_rss_mib'))}", "-", "-"),
        ("SBP log_prob, 1e6 points (points/s)", _fmt(_g(sbp, "ours", "per_point", "log_prob")),
         f"GluonTS {_fmt(_g(sbp, 'gluonts', 'per_point', 'log_prob'))}",
         _fmt(_g(sbp, "ratios", "per_point", "log_prob"), "x"), "20x"),
        ("SBP cdf, 1e6 points (points/s)", _fmt(_g(sbp, "ours", "per_point", "cdf")),
         f"GluonTS {_fmt(_g(sbp, 'gluonts', 'per_point', 'cdf'))}",
         _fmt(_g(sbp, "ratios", "per_point", "cdf"), "x"), "20x"),
        ("train all play models (s)", _fmt(_g(mod, "train_seconds_all_play_models")), "-", "-",
         "120"),
        ("score all dropbacks: every play model, quantiles, PITs (dropbacks/s)",
         _fmt(_g(pred, "dropbacks_per_s")), "-", "-", "50,000"),
        ("completion probability (throws/s)",
         _fmt(_g(mod, "completion_only", "ours_throws_per_s")),
         f"nflfastR xgboost {_fmt(_g(mod, 'completion_only', 'nflfastr_recipe_throws_per_s'))}",
         _fmt(_g(mod, "completion_only", "ratio_ours_over_recipe"), "x"), "-"),
        ("score all seasons, frozen weights (s)",
         _fmt(_g(sco, "score_all_seasons_frozen_seconds")), "-", "-", "-"),
        ("re-score one week (s)", _fmt(_g(sco, "rescore_one_week_seconds")), "-", "-", "-"),
        ("weekly update, CLI wall (s)", _fmt(_g(upd, "update_seconds")), "-", "-", "3"),
        ("weekly update, kernels loaded in turn (s)",
         _fmt(_g(upd, "update_kernels_in_turn_seconds")), "-", "-", "-"),
        ("live game from a partial file, CLI wall (s)", _fmt(_g(upd, "live_game_seconds")),
         "-", "-", "2"),
        ("API open loop at 500 req/s, warm: p50 / p99 (ms)",
         _pair(api, "open_loop", "latency_ms"),
         f"before profiling* {_pair(pre, 'open_loop', 'latency_ms')}",
         _ratio(_g(pre, "open_loop", "latency_ms", "p99"), _g(api, "open_loop", "latency_ms",
                                                              "p99"), "x lower p99"),
         "p99 20 at 500/s"),
        ("API closed loop, 50 clients (req/s)", _fmt(_g(api, "requests_per_s")),
         f"before profiling* {_fmt(_g(pre, 'requests_per_s'))}",
         _ratio(_g(api, "requests_per_s"), _g(pre, "requests_per_s"), "x"), "500"),
        ("API closed loop p50 / p99 (ms)", _pair(api, "latency_ms"),
         f"before profiling* {_pair(pre, 'latency_ms')}", "-", "-"),
        ("API serve --workers 2 vs 1, closed loop (req/s)",
         _fmt(_g(workers, "workers_2", "requests_per_s")),
         f"1 worker {_fmt(_g(workers, 'workers_1', 'requests_per_s'))}",
         _fmt(_g(workers, "ratio_2_over_1"), "x"), "-"),
        ("API cold answers (distinct URLs, computed): p50 / p99 (ms)",
         f"{_fmt(_g(api, 'cold_answers', 'p50_ms'))} / {_fmt(_g(api, 'cold_answers', 'p99_ms'))}",
         f"before profiling* {_fmt(_g(pre, 'cold_answers', 'p50_ms'))} / "
         f"{_fmt(_g(pre, 'cold_answers', 'p99_ms'))}", "-", "p99 20"),
    ]
    stages = _g(reb, "stages_seconds") or {}
    setup, rebuilt = _g(_load("install"), "setup_seconds"), _g(reb, "total_with_outputs_seconds")
    out += [
        ("make run from a fresh clone: clone + make install + full rebuild (s)",
         _fmt(None if setup is None or rebuilt is None else round(setup + rebuilt)),
         f"clone + make install {_fmt(setup)}", "-", "180"),
        ("full rebuild, all seasons, CLI stage by stage (s)", _fmt(_g(reb, "total_seconds")),
         "none (no natural peer)", "-", _fmt(_g(reb, "targets", "total_seconds"))),
        ("rebuild ingest / features / train / score (s)",
         " / ".join(_fmt(stages.get(k)) for k in ("ingest", "features", "train", "score")),
         "-", "-", "-"),
        ("full rebuild peak memory, largest child (MiB)", _fmt(_g(reb, "peak_mib")), "-", "-",
         _fmt(_g(reb, "targets", "peak_mib"))),
    ]
    soak = _load("soak")
    kills = _g(soak, "kills") or {}
    out += [
        ("make soak: kill -9 runs survived (ingest / features / score / update)",
         f"{_fmt(_g(soak, 'kills_survived'))} of {_fmt(_g(soak, 'kills_total'))}"
         + (" (" + " / ".join(str(kills.get(v, {}).get("passed", 0))
                              for v in ("ingest", "features", "score", "update")) + ")"
            if kills else ""), "-", "-", "every one"),
        ("make soak: schemathesis operation x mode runs without a 5xx or schema mismatch",
         f"{_fmt(_g(soak, 'schemathesis', 'operation_modes', 'passed'))} passed, "
         f"{_fmt(_g(soak, 'schemathesis_failures'))} failed (up to "
         f"{_fmt(_g(soak, 'schemathesis', 'max_examples_each'))} random requests each)",
         "-", "-", "0 5xx"),
    ]
    season = _g(src, "season") or "one season"
    for key, label, raw in (("local", "local parquet", "polars.read_parquet"),
                            ("nfl_data_py", "nfl_data_py cache", "import_pbp_data"),
                            ("nflreadpy", "nflreadpy cache", "load_pbp")):
        ours, rate = _ms(_g(src, key, "ours_seconds")), _g(src, key, "ours_rows_per_s")
        ratio = _g(src, key, "ratio_ours_vs_local_time")
        out.append((f"load {season} via {label}, our Batch path (ms)",
                    f"{_fmt(ours)} ({_fmt(rate)} rows/s)" if ours is not None else "-",
                    f"{raw} alone {_fmt(_ms(_g(src, key, 'raw_library_seconds')))}",
                    "-" if ratio is None else _fmt(ratio, "x local time"), "-"))
    return out


PROFILES = ROOT / "bench" / "PROFILES.md"  # hand-written: where the time goes, per figure


SOURCES = (("re-ingest", "ingest"), ("ingest", "ingest"), ("features", "features"),
           ("SBP", "sbp"), ("train", "models"), ("score all dropbacks", "scoring"),
           ("live game", "update"),
           ("completion", "models"), ("score all", "scoring"), ("re-score", "scoring"),
           ("weekly", "update"), ("API", "api"), ("full rebuild", "rebuild"),
           ("rebuild", "rebuild"), ("load", "sources"), ("make run", "install"),
           ("make soak", "soak"))


def _machine(figure: str) -> str:
    """CPUs, processor and time of the result file a figure comes from."""
    name = next((n for prefix, n in SOURCES if figure.startswith(prefix)), None)
    d = _load(name) if name else None
    if d is None:
        return "-"
    m = d.get("machine", {})
    when = str(d.get("measured_at") or "time not recorded")
    cpus = m.get("cpus") or m.get("cpu_count") or "?"
    load = m.get("load_average_at_write") or m.get("loadavg_after")
    where = f"{cpus} CPUs {m.get('processor', '')}, {when.replace('T', ' ').removesuffix('Z')}"
    return where + (f", load {float(load[0]):.1f}" if load else "")


def _span() -> str:
    """First and last measurement time over the result files (UTC)."""
    times = sorted(str(_g(json.loads(f.read_text()), "measured_at")) for f in
                   RESULTS.glob("*.json") if f.stem != "api_before")
    times = [t for t in times if t != "None"]
    return f"{times[0]} to {times[-1]}" if times else "at unknown times"


def main() -> None:
    """Write bench/RESULTS.md."""
    mach = next((_g(_load(n), "machine") for n in ("models", "ingest", "sbp") if _load(n)), {})
    lines = ["# Benchmark results", "",
             "Generated by `python bench/results_table.py` from `bench/results/*.json` (each "
             "written by a `bench/bench_*.py`, run together by `make bench`). Peers were "
             "measured in the same run as ours. Machine: "
             f"{_g(mach, 'platform')}, {_g(mach, 'cpus')} CPUs, Python {_g(mach, 'python')}. "
             f"Measured {_span()}. * \"before profiling\" is the pre-change API code measured "
             "by the same script in an earlier run (bench/results/api_before.json; see the "
             "profiling section).", "",
             "| figure | ours | floor or peer (same run) | ratio | target | machine, measured "
             "(UTC), 1-min load average |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {' | '.join(r)} | {_machine(r[0])} |" for r in rows()]
    lines += ["", PROFILES.read_text().rstrip("\n")]
    (ROOT / "bench" / "RESULTS.md").write_text("\n".join(lines) + "\n")
    width = max(len(r[0]) for r in rows())
    # make bench ends with the figures beside their floor or peer and target
    print(f"{'figure':<{width}}  ours | floor or peer | ratio | target")
    for figure, ours, peer, ratio, target in rows():
        print(f"{figure:<{width}}  {ours} | {peer} | {ratio} | {target}")
    print(f"wrote {ROOT / 'bench' / 'RESULTS.md'} (with bench/PROFILES.md: where the time goes)")


if __name__ == "__main__":
    main()

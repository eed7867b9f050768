"""Feature build speed: `build_dropbacks` (DuckDB SQL) vs a straightforward pandas version.

Builds a warehouse from every shared season (or copies `--db PATH`), then times a full rebuild
of `dropbacks` (best of 3) and a pandas implementation of the same core columns (read plays,
flag dropbacks, context columns, opponent strength with groupby/cumsum/shift, write the table).
Each side runs in a fresh child process so its peak memory (VmHWM of that process: Python
plus DuckDB's native memory) is its own. Writes bench/results/features.json.

    .venv/bin/python bench/bench_features.py [--db PATH] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd

from bench.common import shared_pbp, write_result
from passing_score.features.build import build_dropbacks
from passing_score.features.columns import (
    INDOOR_TEMP,
    INDOOR_WIND,
    K_ATTEMPTS,
    K_DROPBACKS,
    OUTDOOR_TEMP,
    OUTDOOR_WIND,
    WEEK1_CMP,
    WEEK1_EPA,
)
from passing_score.pipeline.foundation.warehouse import connect, fetch_one
from passing_score.pipeline.ingest.load import PlayFilter, ingest
from passing_score.pipeline.ingest.sources import LocalSource

TARGET_PLAYS_PER_S = 1_000_000
PANDAS_COLUMNS = (
    "game_id", "play_id", "season", "game_week", "season_type", "game_date", "home_team",
    "posteam", "defteam", "passer_id", "passer", "desc", "play_type", "qb_dropback",
    "pass_attempt", "sack", "qb_scramble", "qb_spike", "qb_kneel", "two_point_attempt",
    "aborted_play", "complete_pass", "interception", "qb_hit", "pass_touchdown", "rush_touchdown",
    "first_down", "fumble_lost", "down", "ydstogo", "yardline_100", "goal_to_go", "qtr",
    "game_seconds_remaining", "half_seconds_remaining", "score_differential",
    "posteam_timeouts_remaining", "defteam_timeouts_remaining", "shotgun", "no_huddle", "roof",
    "surface", "temp", "wind", "xpass", "air_yards", "yards_after_catch", "yards_gained",
    "pass_location", "pass_length", "lateral_receiving_yards", "lateral_rushing_yards", "epa",
    "cp", "cpoe")


def peak_rss_mib() -> tuple[float, str]:
    """Peak resident memory of this process: VmHWM (Linux), else ru_maxrss.

    ru_maxrss survives exec on Linux, so a child started from a big parent would report the
    parent's peak; VmHWM belongs to the child's own address space.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024, "VmHWM"
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "ru_maxrss"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def pandas_build(con: Any) -> int:
    """The same core `dropbacks` columns with pandas; writes table `dropbacks_pandas`."""
    cols = ", ".join(f'"{c}"' for c in PANDAS_COLUMNS)
    plays = con.sql(f"SELECT {cols} FROM plays").to_arrow_table().to_pandas()
    d = plays[plays["qb_dropback"] == 1].copy()
    z = d.fillna({c: 0 for c in ("pass_attempt", "sack", "qb_scramble", "qb_spike", "qb_kneel",
                                 "two_point_attempt", "complete_pass", "interception",
                                 "qb_hit", "pass_touchdown", "rush_touchdown", "first_down",
                                 "fumble_lost", "goal_to_go", "shotgun", "no_huddle")})
    is_att = (z["pass_attempt"] == 1) & (z["sack"] == 0)
    text = d["desc"].fillna("")
    out = pd.DataFrame({"game_id": d["game_id"], "play_id": d["play_id"],
                        "season": d["season"], "week": d["game_week"],
                        "season_type": d["season_type"], "game_date": d["game_date"],
                        "posteam": d["posteam"], "defteam": d["defteam"]})
    # passer recovered from the text when the id is missing
    name = text.str.extract(r"([A-Z][A-Za-z]*\.\s?[A-Z][A-Za-z'\-]+(?:\s(?:II|III|IV|Jr\.))?)"
                            r"\s+(?:pass|sacked|scrambles|spiked)", expand=False)
    known = d.dropna(subset=["passer_id", "passer"]).groupby(
        ["game_id", "posteam", "passer"])["passer_id"].agg(["min", "nunique"]).reset_index()
    look = pd.DataFrame({"game_id": d["game_id"], "posteam": d["posteam"], "passer": name},
                        index=d.index).reset_index().merge(
        known, on=["game_id", "posteam", "passer"], how="left").set_index("index")
    recovered = look["min"].where(look["nunique"] == 1)
    out["passer_id"] = d["passer_id"].fillna(recovered)
    out["passer"] = d["passer"].fillna(name)
    out["passer_from_desc"] = d["passer_id"].isna() & recovered.notna()
    # pre-snap context
    for c in ("down", "ydstogo", "yardline_100", "score_differential", "qtr",
              "game_seconds_remaining", "half_seconds_remaining", "xpass"):
        out[c] = d[c]
    out["posteam_timeouts"] = d["posteam_timeouts_remaining"]
    out["defteam_timeouts"] = d["defteam_timeouts_remaining"]
    out["goal_to_go"] = z["goal_to_go"] == 1
    out["is_home"] = d["posteam"] == d["home_team"]
    out["is_postseason"] = d["season_type"] == "POST"
    out["era"] = d["season"]
    roof = d["roof"].str.strip().str.lower()
    out["roof"] = roof.where(roof.isin(["outdoors", "dome", "closed", "open"]), "unknown")
    surf = d["surface"].str.lower().fillna("")
    out["surface"] = np.where(surf.str.contains("grass"), "grass",
                              np.where(surf.str.contains("turf"), "turf", "unknown"))
    indoor = roof.isin(["dome", "closed"])
    out["is_indoor"] = indoor
    out["temp"] = d["temp"].fillna(pd.Series(np.where(indoor, INDOOR_TEMP, OUTDOOR_TEMP),
                                             index=d.index))
    out["wind"] = d["wind"].fillna(pd.Series(np.where(indoor, INDOOR_WIND, OUTDOOR_WIND),
                                             index=d.index))
    out["weather_missing"] = (d["temp"].isna() | d["wind"].isna()) & ~indoor
    out["shotgun"] = z["shotgun"] == 1
    out["no_huddle"] = z["no_huddle"] == 1
    # at throw
    out["air_yards"] = d["air_yards"].where(is_att)
    out["air_yards_missing"] = d["air_yards"].isna().where(is_att)
    out["air_to_sticks"] = (d["air_yards"] - d["ydstogo"]).where(is_att)
    out["air_to_goal"] = (d["yardline_100"] - d["air_yards"]).where(is_att)
    loc = d["pass_location"].str.strip().str.lower()
    out["pass_location"] = loc.where(loc.isin(["left", "middle", "right"]), "unknown") \
        .where(is_att)
    ln = d["pass_length"].str.strip().str.lower()
    out["pass_length"] = ln.where(ln.isin(["short", "deep"]), "unknown").where(is_att)
    out["qb_hit"] = (z["qb_hit"] == 1).where(is_att)
    # outcomes and baselines
    out["out_pass_attempt"] = is_att
    out["out_sack"] = z["sack"] == 1
    out["out_scramble"] = (z["qb_scramble"] == 1) & (z["pass_attempt"] != 1) & (z["sack"] == 0)
    out["out_complete"] = is_att & (z["complete_pass"] == 1)
    out["out_interception"] = z["interception"] == 1
    out["out_yards_gained"] = d["yards_gained"]
    out["out_air_yards"] = d["air_yards"].where(is_att)
    out["out_yac"] = d["yards_after_catch"]
    out["out_touchdown"] = (z["pass_touchdown"] == 1) | (z["rush_touchdown"] == 1)
    out["out_first_down"] = z["first_down"] == 1
    out["out_fumble_lost"] = z["fumble_lost"] == 1
    out["out_epa"] = d["epa"]
    out["cp"], out["cpoe"] = d["cp"], d["cpoe"]
    # flags
    out["is_nullified"] = d["play_type"] == "no_play"
    out["is_two_point"] = z["two_point_attempt"] == 1
    out["is_spike"] = (z["qb_spike"] == 1) | (d["play_type"] == "qb_spike")
    out["is_kneel"] = (z["qb_kneel"] == 1) | (d["play_type"] == "qb_kneel")
    out["is_aborted"] = (d["aborted_play"] == 1) | (
        d["aborted_play"].isna() & text.str.contains(r"\baborted\b", case=False))
    out["is_throwaway"] = text.str.contains(r"thr(?:own|ows|ew|ow) (?:the ball )?away",
                                            case=False)
    out["is_batted"] = is_att & text.str.contains(
        r"batted|(?:tipped|deflected).{0,40}at (?:the )?line", case=False)
    out["is_lateral"] = d["lateral_receiving_yards"].notna() | \
        d["lateral_rushing_yards"].notna() | text.str.contains(r"\blateral", case=False)
    ok = (d["down"].between(1, 4) & d["ydstogo"].between(1, 99)
          & d["yardline_100"].between(1, 99) & (d["ydstogo"] <= d["yardline_100"])
          & d["qtr"].between(1, 6) & d["game_seconds_remaining"].between(0, 3600)
          & d["half_seconds_remaining"].between(0, 1800)
          & d["posteam_timeouts_remaining"].between(0, 3)
          & d["defteam_timeouts_remaining"].between(0, 3) & d["xpass"].between(0, 1)
          & d["score_differential"].notna() & d["posteam"].notna() & d["defteam"].notna()
          & (d["posteam"] != d["defteam"]))
    out["is_bad_context"] = ~out["is_two_point"] & ~out["is_spike"] & ~ok
    out["model_eligible"] = ~(out["is_nullified"] | out["is_two_point"] | out["is_spike"]
                              | out["is_kneel"] | out["is_aborted"] | out["is_bad_context"]) \
        & out["passer_id"].notna()
    # opponent strength: per defense-game sums, cumulative over earlier weeks (shift)
    e = out[out["model_eligible"]]
    contrib = pd.DataFrame({
        "season": e["season"], "defteam": e["defteam"], "game_id": e["game_id"],
        "week": e["week"], "n": e["out_epa"].notna().astype(int),
        "epa": (e["out_epa"] * 1e6).round().fillna(0).astype("int64"),
        "att": e["out_pass_attempt"].astype(int),
        "cmp": (e["out_pass_attempt"] & e["out_complete"]).astype(int)})
    dg = contrib.groupby(["season", "defteam", "game_id", "week"], as_index=False)[
        ["n", "epa", "att", "cmp"]].sum().sort_values(["season", "defteam", "week"])
    g = dg.groupby(["season", "defteam"])
    for c in ("n", "epa", "att", "cmp"):
        dg["o_" + c] = g[c].cumsum() - dg[c]
    dg["opp_def_games"] = g.cumcount()
    lw = contrib.groupby(["season", "week"], as_index=False)[["n", "epa", "att", "cmp"]].sum() \
        .sort_values(["season", "week"])
    lg = lw.groupby("season")
    for c in ("n", "epa", "att", "cmp"):
        lw["l_" + c] = lg[c].cumsum() - lw[c]
    dg = dg.merge(lw[["season", "week", "l_n", "l_epa", "l_att", "l_cmp"]],
                  on=["season", "week"], how="left")
    prior_epa = np.where(dg["l_n"] > 0, dg["l_epa"] / 1e6 / dg["l_n"].where(dg["l_n"] > 0),
                         WEEK1_EPA)
    prior_cmp = np.where(dg["l_att"] > 0, dg["l_cmp"] / dg["l_att"].where(dg["l_att"] > 0),
                         WEEK1_CMP)
    dg["opp_def_epa_per_db"] = (dg["o_epa"] / 1e6 + K_DROPBACKS * prior_epa) / (
        dg["o_n"] + K_DROPBACKS)
    dg["opp_def_cmp_rate"] = (dg["o_cmp"] + K_ATTEMPTS * prior_cmp) / (dg["o_att"] + K_ATTEMPTS)
    dg["opp_def_dropbacks"] = dg["o_n"]
    out = out.merge(dg[["game_id", "defteam", "opp_def_epa_per_db", "opp_def_cmp_rate",
                        "opp_def_dropbacks", "opp_def_games"]],
                    on=["game_id", "defteam"], how="left")
    con.register("pandas_out", out)
    con.execute("BEGIN")
    con.execute("CREATE OR REPLACE TABLE dropbacks_pandas AS SELECT * FROM pandas_out")
    con.execute("COMMIT")
    con.unregister("pandas_out")
    return len(out)


def child(kind: str, db: Path, repeat: int) -> None:
    """Run one implementation `repeat` times in this (fresh) process; print a JSON line."""
    con = connect(db)
    runs, cpus, rows, plays_in = [], [], 0, 0
    for _ in range(repeat):
        t, c = time.perf_counter(), _cpu()
        if kind == "duckdb":
            rep = build_dropbacks(con, full=True)
            rows, plays_in = rep.rows, rep.plays_in
        else:
            rows = pandas_build(con)
        runs.append(time.perf_counter() - t)
        cpus.append(_cpu() - c)
    threads = fetch_one(con, "SELECT current_setting('threads')")
    con.close()
    peak, how = peak_rss_mib()
    print(json.dumps({"runs_s": runs, "cpu_s": cpus, "rows": rows, "plays_in": plays_in,
                      "duckdb_threads": threads[0] if threads else None,
                      "peak_rss_mib": peak, "peak_rss_source": how}))


def run_child(kind: str, db: Path, repeat: int) -> dict[str, Any]:
    """Start a fresh interpreter for one implementation and read its JSON line."""
    res = subprocess.run([sys.executable, __file__, "--child", kind, "--db", str(db),
                          "--repeat", str(repeat)], capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def compare(db: Path) -> dict[str, Any]:
    """How far the pandas columns are from the DuckDB ones (a sanity check of both)."""
    con = connect(db)
    row = fetch_one(con, """
        SELECT count(*), count(p.game_id),
          max(abs(d.opp_def_epa_per_db - p.opp_def_epa_per_db)),
          max(abs(d.opp_def_cmp_rate - p.opp_def_cmp_rate)),
          count(*) FILTER (WHERE d.model_eligible IS DISTINCT FROM p.model_eligible),
          count(*) FILTER (WHERE d.air_to_sticks IS DISTINCT FROM p.air_to_sticks),
          count(*) FILTER (WHERE d.passer_id IS DISTINCT FROM p.passer_id),
          count(*) FILTER (WHERE d.is_batted IS DISTINCT FROM p.is_batted
                           OR d.is_throwaway IS DISTINCT FROM p.is_throwaway
                           OR d.is_lateral IS DISTINCT FROM p.is_lateral)
        FROM dropbacks d LEFT JOIN dropbacks_pandas p USING (game_id, play_id)""")
    con.close()
    assert row is not None
    keys = ("rows", "matched", "max_abs_diff_opp_epa", "max_abs_diff_opp_cmp",
            "model_eligible_mismatches", "air_to_sticks_mismatches", "passer_id_mismatches",
            "text_flag_mismatches")
    return dict(zip(keys, row, strict=True))


def summarize(r: dict[str, Any], plays: int) -> dict[str, Any]:
    """Best-of figures and rates of one implementation."""
    best = min(r["runs_s"])
    return {**r, "best_s": round(best, 4), "best_cpu_s": round(min(r["cpu_s"]), 4),
            "plays_per_s": round(plays / best), "dropbacks_per_s": round(r["rows"] / best),
            "peak_rss_mib": round(r["peak_rss_mib"], 1)}


def main() -> None:
    """Prepare the warehouse, time both implementations, write the result file."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, help="existing warehouse with `plays` (copied, not "
                    "modified); default: ingest every shared season into a temp warehouse")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", choices=("duckdb", "pandas"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.db, args.repeat)
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "warehouse.duckdb"
        if args.db:
            shutil.copy(args.db, db)
        else:
            folder = shared_pbp()
            if not folder.is_dir():
                sys.exit(f"skip: {folder} not found (pass --db PATH)")
            t = time.perf_counter()
            con = connect(db)
            rep = ingest(con, LocalSource(folder), PlayFilter())
            con.close()
            assert not rep.rejected, rep.rejected
            print(f"ingested {rep.rows_written:,} plays in {time.perf_counter() - t:.1f}s")
        con = connect(db)
        plays = int(fetch_one(con, "SELECT count(*) FROM plays")[0])
        con.close()
        load_before = os.getloadavg()
        ours = summarize(run_child("duckdb", db, args.repeat), plays)
        pand = summarize(run_child("pandas", db, args.repeat), plays)
        load_after = os.getloadavg()
        check = compare(db)
    result = {
        "plays": plays, "dropbacks": ours["rows"], "repeat": args.repeat,
        "duckdb_build_dropbacks": ours, "pandas_straightforward": pand,
        "pandas_over_duckdb_time_ratio": round(pand["best_s"] / ours["best_s"], 2),
        "target_plays_per_s": TARGET_PLAYS_PER_S,
        "meets_target": ours["plays_per_s"] >= TARGET_PLAYS_PER_S,
        "pandas_vs_duckdb_check": check,
        "memory_method": "peak RSS (VmHWM from /proc/self/status; ru_maxrss elsewhere) of a "
                         "fresh child process running only that build: Python + DuckDB "
                         "native memory + pandas frames",
        "time_method": "wall time of a full rebuild (read plays, compute, write the table, "
                       "commit), best of --repeat; cpu_s = user+sys of the process",
        "load_average_before_after": [load_before, load_after],
    }
    write_result("features", result)
    print(f"duckdb: {ours['best_s']:.3f}s  {ours['plays_per_s']:,} plays/s  "
          f"{ours['dropbacks_per_s']:,} dropbacks/s  peak {ours['peak_rss_mib']} MiB")
    print(f"pandas: {pand['best_s']:.3f}s  {pand['plays_per_s']:,} plays/s  "
          f"peak {pand['peak_rss_mib']} MiB  (x{result['pandas_over_duckdb_time_ratio']})")
    print(f"check: {check}")


if __name__ == "__main__":
    main()

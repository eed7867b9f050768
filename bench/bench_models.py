"""Play models: training time on the shared seasons and scoring throughput (dropbacks/s),
beside the nflfastR-recipe xgboost CP model scoring the same throws in the same run."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl

from bench.common import peak_rss_mib, shared_pbp, write_result
from passing_score.features.build import build_dropbacks
from passing_score.features.read import load_dropbacks
from passing_score.models.inference.scorer import Scorer
from passing_score.models.play_models import fit_play_models, sample
from passing_score.models.predict import predict_dropbacks
from passing_score.models.recipes import fit_cp_recipe, recipe_features
from passing_score.pipeline.foundation.warehouse import connect
from passing_score.pipeline.ingest.load import PlayFilter, ingest
from passing_score.pipeline.ingest.sources import LocalSource


def main() -> None:
    """Train on every season but the newest (the one before validates), score the newest."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, default=None, help="a warehouse with dropbacks")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        db = args.db
        if db is None:
            if not shared_pbp().is_dir():
                print("skip: no shared data")
                return
            db = Path(d) / "w.duckdb"
            con = connect(db)
            ingest(con, LocalSource(shared_pbp()), PlayFilter())
            build_dropbacks(con, full=True)
            con.close()
        con = connect(db, read_only=True)
        df = load_dropbacks(con)
        con.close()
    seasons = sorted(df["season"].unique().to_list())
    train = df.filter(pl.col("season") < seasons[-2])
    val = df.filter(pl.col("season") == seasons[-2])
    test = df.filter(pl.col("season") == seasons[-1])
    t0 = time.perf_counter()
    pm = fit_play_models(train, val)
    t_train = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = predict_dropbacks(pm, test, "bench")
    t_score = time.perf_counter() - t0
    cp_tr = sample(train, "completion")
    recipe = fit_cp_recipe(recipe_features(cp_tr), cp_tr["out_complete"].to_numpy())
    cp_te = sample(test, "completion")
    t0 = time.perf_counter()
    recipe.predict_proba(recipe_features(cp_te))
    t_recipe = time.perf_counter() - t0
    sc = Scorer.from_play_models(pm)  # what scoring runs: the compiled play models
    sc.probability("completion", cp_te.head(100))  # loads the compiled kernels
    t0 = time.perf_counter()
    sc.probability("completion", cp_te)
    t_ours_cp = time.perf_counter() - t0
    write_result("models", {
        "train_seasons": sorted(train["season"].unique().to_list()),
        "val_season": seasons[-2], "train_rows": train.height,
        "train_seconds_all_play_models": round(t_train, 1),
        "train_target_seconds": 120,
        "score_dropbacks": pred.height,
        "score_seconds_all_models": round(t_score, 2),
        "score_dropbacks_per_s": round(pred.height / t_score),
        "completion_only": {"throws": cp_te.height,
                            "ours_throws_per_s": round(cp_te.height / t_ours_cp),
                            "nflfastr_recipe_throws_per_s": round(cp_te.height / t_recipe),
                            "ratio_ours_over_recipe": round(t_recipe / t_ours_cp, 2)},
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "note": "all-model scoring includes the SBP yards distributions on a 151-yard grid "
                "(means, quantiles, PITs); the completion figures are probability only, ours "
                "through the compiled scorer scoring uses (Platt map and season shift included)",
    })


if __name__ == "__main__":
    main()

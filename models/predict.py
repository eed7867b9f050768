"""Per-dropback predictions of a model version: the rows of `play_predictions` (frames in,
frames out; the scoring stage writes them).

For every dropback, where it is in a model's sample: P(complete), P(interception), P(sack),
expected yards and quantiles of the yards-after-catch, air-yards and dropback-yards
distributions, and the PIT of the observed yards in each (mid-point of the integer-yard PIT
interval), plus each component's over/under expectation.

Probability models with an in-season league-level update (issue 17) shift week k by the level
of the same season's weeks < k: the caller passes those dropbacks (with outcomes) as `history`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from passing_score.models.artifact import ArtifactError
from passing_score.models.inference import Scorer
from passing_score.models.samples import TARGETS

YARD_GRID = np.arange(-40.0, 111.0)  # integer yards a play can gain or lose on a 100-yd field
CHUNK = 50_000
ID_COLUMNS = ("game_id", "play_id", "passer_id", "passer", "posteam", "defteam", "season",
              "week", "season_type")


def standardize_pit(pit: np.ndarray) -> np.ndarray:
    """Normal score of a PIT, clipped at 1/1000 so one freak play counts at most ~3.1 sd
    (scipy.stats.norm.ppf of the clipped PIT, compiled: no scipy import on the scoring path)."""
    from passing_score.models.inference.kernels import ndtri_clipped

    return np.asarray(ndtri_clipped(np.ascontiguousarray(pit, np.float64), 0.001, 0.999))


def grid_summary(f: Any, y: np.ndarray) -> dict[str, np.ndarray]:
    """Mean and 10/50/90% quantiles on the integer-yard grid, and the mid PIT of y, of any
    Forecast (the reference for the compiled `Scorer.summary`, which scoring uses)."""
    from passing_score.models.metrics import pit_bounds, pit_mid

    n = len(y)
    cdf_hi = np.asarray(f.cdf(np.broadcast_to(YARD_GRID + 0.5, (n, len(YARD_GRID)))), float)
    cdf_lo = np.concatenate([np.asarray(f.cdf(np.full(n, YARD_GRID[0] - 0.5)))[:, None],
                             cdf_hi[:, :-1]], axis=1)
    mass = np.clip(cdf_hi - cdf_lo, 0.0, None)
    mean = (mass * YARD_GRID).sum(1) / np.clip(mass.sum(1), 1e-12, None)

    def q(level: float) -> np.ndarray:
        return YARD_GRID[np.minimum((cdf_hi < level).sum(1), len(YARD_GRID) - 1)]

    return {"mean": mean, "q10": q(0.1), "q50": q(0.5), "q90": q(0.9),
            "pit": pit_mid(*pit_bounds(f, y))}


def level_tables(sc: Scorer, history: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Per probability model with an in-season update: its (season, week, offset) table from
    `history` (Scorer.level_table)."""
    out = {}
    for name in ("completion", "interception", "sack"):
        table = sc.level_table(name, history)
        if table is not None:
            out[name] = table
    return out


def _predict_chunk(sc: Scorer, df: pl.DataFrame,
                   tables: dict[str, pl.DataFrame] | None = None) -> pl.DataFrame:
    out = df.select(ID_COLUMNS)
    cols: dict[str, np.ndarray] = {}
    n = df.height
    for name, prob_col in (("completion", "p_complete"), ("interception", "p_int"),
                           ("sack", "p_sack")):
        t = TARGETS[name]
        mask = df.select(t.sample.fill_null(False)).to_series().to_numpy()
        p = np.full(n, np.nan)
        if mask.any():
            p[mask] = sc.probability(name, df.filter(pl.Series(mask)),
                                     table=(tables or {}).get(name))
        cols[prob_col] = p
    qb_pit = np.full(n, np.nan)  # dropback yards with the receiver's YAC at its expectation
    for name, prefix in (("yac", "yac"), ("air_yards", "air"), ("dropback_yards", "yards")):
        t = TARGETS[name]
        mask = df.select(t.sample.fill_null(False)).to_series().to_numpy()
        block = np.full((n, 5), np.nan)
        if mask.any():
            sub = df.filter(pl.Series(mask))
            y = sub[t.target].to_numpy().astype(float)
            block[mask] = sc.summary(name, sub, y)
            if name == "dropback_yards":
                adj = qb_yards(sub, cols["exp_yac"][mask])
                pit = block[mask, 4]
                moved = adj != y  # completions whose YAC differs from its expectation
                if moved.any():  # only their PIT changes: the forecasts are the same
                    pit[moved] = sc.summary(name, sub.filter(pl.Series(moved)), adj[moved])[:, 4]
                qb_pit[mask] = pit
        cols[f"exp_{prefix}"] = block[:, 0]
        for i, k in enumerate(("q10", "q50", "q90", "pit"), start=1):
            cols[f"{prefix}_{k}"] = block[:, i]
    cols["yards_qb_pit"] = qb_pit
    cols.update(sc.context(df))
    return out.with_columns([pl.Series(k, v).fill_nan(None) for k, v in cols.items()])


def qb_yards(df: pl.DataFrame, exp_yac: np.ndarray) -> np.ndarray:
    """Each dropback's yards with a completion's yards after the catch replaced by their
    expected value (rounded to a yard): the yards the passer owns. Other dropbacks keep their
    own yards; `yards_qb_pit` is their PIT under the dropback-yards forecast."""
    y = df["out_yards_gained"].to_numpy().astype(float)
    yac = df["out_yac"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    comp = (df["out_complete"].fill_null(False).cast(pl.Boolean).to_numpy()
            & np.isfinite(yac) & np.isfinite(exp_yac))
    return np.where(comp, y - np.nan_to_num(yac) + np.round(np.nan_to_num(exp_yac)), y)


def predict_dropbacks(pm: Any, df: pl.DataFrame, model_version: str,
                      progress: Any = None, history: pl.DataFrame | None = None
                      ) -> pl.DataFrame:
    """The `play_predictions` rows of df (dropbacks) for one model version; `pm` is the
    version's `Scorer` (or its fitted PlayModels, read into one). In-season level updates
    take week k's level from the same season's weeks < k in `history` (default: df itself,
    right when df holds whole seasons; the scoring stage passes the seasons' dropbacks)."""
    try:  # the scorer is the one check that the play models carry everything scoring needs
        sc = pm if isinstance(pm, Scorer) else Scorer.from_play_models(pm)
    except ArtifactError as exc:
        raise ArtifactError(f"model {model_version}: {exc}") from None
    tables = level_tables(sc, df if history is None else history)
    parts = []
    for s in range(0, df.height, CHUNK):
        parts.append(_predict_chunk(sc, df.slice(s, CHUNK), tables))
        if progress is not None:
            progress(min(s + CHUNK, df.height), df.height)
    pred = pl.concat(parts) if parts else _predict_chunk(sc, df, tables)
    outcomes = df.select(
        pl.col("out_complete").alias("complete"), pl.col("out_interception").alias("interception"),
        pl.col("out_sack").alias("sack"), pl.col("out_pass_attempt").alias("pass_attempt"),
        pl.col("out_scramble").alias("scramble"), pl.col("out_yards_gained").alias("yards_gained"),
        pl.col("out_air_yards").alias("air_yards"), pl.col("out_epa").alias("epa"),
        pl.col("out_first_down").alias("first_down"), pl.col("out_touchdown").alias("touchdown"),
        pl.col("cp"), pl.col("model_eligible"))
    pred = pl.concat([pred, outcomes], how="horizontal")
    return pred.with_columns(
        pl.lit(model_version).alias("model_version"),
        (pl.col("complete") - pl.col("p_complete")).alias("cpoe"),
        (pl.col("p_int") - pl.col("interception")).alias("int_avoided"),
        (pl.col("p_sack") - pl.col("sack")).alias("sack_avoided"),
        _normal_score("yards_pit").alias("yards_z"),
        _normal_score("air_pit").alias("aggressiveness_z"),
        _normal_score("yac_pit").alias("yac_z"),
    ).pipe(_context_columns, df)


def _context_columns(pred: pl.DataFrame, df: pl.DataFrame) -> pl.DataFrame:
    """QB EPA, EPA after the catch and the components the context models define: points and
    success over expectation, points with the receiver's YAC replaced by its expectation,
    and yards the passer owns (docs/scoring.md)."""
    e, yac, xyac = pl.col("qb_epa"), pl.col("yac_epa"), pl.col("xyac_epa")
    out = pred.with_columns(df["out_qb_epa"].alias("qb_epa"),
                            df["out_yac_epa"].alias("yac_epa"))
    return out.with_columns(
        (e - pl.col("xepa")).alias("epa_oe"),
        ((e > 0).cast(pl.Float64) - pl.col("p_success")).alias("success_oe"),
        (pl.when(yac.is_not_null() & xyac.is_not_null()).then(e - yac + xyac).otherwise(e)
         - pl.col("xepa")).alias("epa_qb_oe"),
        pl.when(pl.col("yards_qb_pit").is_not_null()).then(_normal_score("yards_qb_pit"))
        .otherwise(pl.col("yards_z")).alias("yards_qb_z"),
    ).drop("yards_qb_pit")


def _normal_score(pit_column: str) -> pl.Expr:
    """`standardize_pit` of a PIT column (nulls stay null)."""
    return pl.col(pit_column).map_batches(lambda s: pl.Series(standardize_pit(
        s.to_numpy(allow_copy=True).astype(float)))).fill_nan(None)

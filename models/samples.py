"""Which dropbacks each play model trains and is scored on, and its feature columns.

Selections come from the `features.columns` registry (stages), never from hand-typed lists.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from passing_score.features.columns import BY_NAME, columns

PRE_SNAP = columns("pre_snap")
AT_THROW = columns("pre_snap", "at_throw")


def split_types(cols: list[str]) -> tuple[list[str], list[str]]:
    """(numeric, categorical) by the registry's column types."""
    cat = [c for c in cols if BY_NAME[c].dtype == "VARCHAR"]
    return [c for c in cols if c not in cat], cat


# nflfastR's CP sample: a throw with air yards in [-15, 70) and a known pass location
CP_SAMPLE = (
    pl.col("model_eligible") & (pl.col("out_pass_attempt") == 1)
    & pl.col("air_yards").is_not_null() & (pl.col("air_yards") >= -15)
    & (pl.col("air_yards") < 70) & (pl.col("pass_location") != "unknown")
)
# the context models' samples (models.context): QB EPA of eligible dropbacks; EPA after the
# catch of completions in the completion sample
EPA_SAMPLE = pl.col("model_eligible") & pl.col("out_qb_epa").is_not_null()
YAC_EPA_SAMPLE = (CP_SAMPLE & (pl.col("out_complete") == 1)
                  & pl.col("out_yac_epa").is_not_null())


@dataclass(frozen=True)
class Target:
    """One play model: its sample, its target column and its inputs."""

    name: str
    kind: str  # "binary" | "yards" | "dropback_yards"
    sample: pl.Expr
    target: str
    features: tuple[str, ...]


TARGETS: dict[str, Target] = {
    "completion": Target("completion", "binary", CP_SAMPLE, "out_complete", tuple(AT_THROW)),
    "interception": Target("interception", "binary", CP_SAMPLE, "out_interception",
                           tuple(AT_THROW)),
    "sack": Target("sack", "binary", pl.col("model_eligible"), "out_sack", tuple(PRE_SNAP)),
    "yac": Target("yac", "yac",
                  CP_SAMPLE & (pl.col("out_complete") == 1) & pl.col("out_yac").is_not_null(),
                  "out_yac", tuple(AT_THROW)),
    "air_yards": Target("air_yards", "yards",
                        pl.col("model_eligible") & (pl.col("out_pass_attempt") == 1)
                        & pl.col("out_air_yards").is_not_null(), "out_air_yards",
                        tuple(PRE_SNAP)),
    "dropback_yards": Target("dropback_yards", "dropback_yards",
                             pl.col("model_eligible") & pl.col("out_yards_gained").is_not_null(),
                             "out_yards_gained", tuple(PRE_SNAP)),
}

# Components of a dropback's yards: a sack, a throw that gained nothing (incomplete or
# intercepted: exactly 0 yards), or a gain play (completion or scramble: any yards).
SACK, NO_GAIN, GAIN = 0, 1, 2


def yards_component() -> pl.Expr:
    """The dropback-yards mixture component of each dropback."""
    return (pl.when(pl.col("out_sack") == 1).then(SACK)
            .when((pl.col("out_pass_attempt") == 1) & (pl.col("out_complete") == 0)
                  & (pl.col("out_yards_gained") == 0)).then(NO_GAIN)
            .otherwise(GAIN))

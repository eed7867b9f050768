"""Peer QB metrics computed from `plays` (EPA/dropback, success rate, CPOE, passer rating,
ANY/A, the EPA+CPOE composite) and ESPN QBR matched to QB-seasons."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import polars as pl

from passing_score.models.aggregator import group_sums
from passing_score.pipeline.foundation.warehouse import query_pl, require_table, table_columns

SEASON_MIN = 200  # REG dropbacks of a qualified QB-season
HALF_MIN = 50  # dropbacks in each half (odd / even weeks)
PEERS: tuple[str, ...] = ("epa_per_dropback", "success_rate", "cpoe", "passer_rating", "any_a",
                          "epa_cpoe_composite")
QBR_TEAMS = {"WSH": "WAS", "LAR": "LA"}
NAME_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "v"}


def shared_dir() -> Path:
    """The read-only nflverse folder (PASSING_SCORE_SHARED, else ../shared/nflverse)."""
    root = Path(__file__).resolve().parents[2]
    return Path(os.environ.get("PASSING_SCORE_SHARED", root.parent / "shared" / "nflverse"))


def peer_game_sums(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Box-score sums per QB x game from `plays` (dropbacks, two-point tries excluded)."""
    require_table(con, "plays", "run `passing-score ingest` first")
    have = table_columns(con, "plays")
    week = "game_week" if "game_week" in have else "week"
    two = "coalesce(two_point_attempt, 0) = 0" if "two_point_attempt" in have else "TRUE"
    yards = ("coalesce(passing_yards, yards_gained)" if "passing_yards" in have
             else "yards_gained")
    epa = "qb_epa" if "qb_epa" in have else "epa"
    cpoe = "cpoe" if "cpoe" in have else "NULL::DOUBLE"
    sql = f"""
        SELECT season, season_type, {week} AS week, game_id, passer_id,
          mode(posteam) AS team, mode(passer) AS passer_name,
          count(*)::DOUBLE AS db,
          count({epa})::DOUBLE AS epa_n, sum({epa}) AS epa_s,
          sum(CASE WHEN {epa} > 0 THEN 1 ELSE 0 END)::DOUBLE AS succ,
          count({cpoe})::DOUBLE AS cp_n, coalesce(sum({cpoe}), 0)::DOUBLE AS cp_s,
          sum(CASE WHEN pass_attempt = 1 AND coalesce(sack, 0) = 0 THEN 1 ELSE 0 END)::DOUBLE
            AS att,
          sum(coalesce(complete_pass, 0))::DOUBLE AS cmp,
          sum(CASE WHEN complete_pass = 1 THEN coalesce({yards}, 0) ELSE 0 END)::DOUBLE AS yds,
          sum(coalesce(pass_touchdown, 0))::DOUBLE AS td,
          sum(coalesce(interception, 0))::DOUBLE AS ints,
          sum(coalesce(sack, 0))::DOUBLE AS sk,
          sum(CASE WHEN sack = 1 THEN -coalesce(yards_gained, 0) ELSE 0 END)::DOUBLE AS sky
        FROM plays
        WHERE qb_dropback = 1 AND passer_id IS NOT NULL AND {two}
        GROUP BY ALL
    """
    df = query_pl(con, sql)
    return df.with_columns(pl.col("season").cast(pl.Int64), pl.col("week").cast(pl.Int64),
                           pl.col("epa_s").cast(pl.Float64)).sort(
        ["season", "week", "game_id", "passer_id"])


PEER_SUMS = ("db", "epa_n", "epa_s", "succ", "cp_n", "cp_s", "att", "cmp", "yds", "td", "ints",
             "sk", "sky")


def peer_metrics(sums: pl.DataFrame) -> pl.DataFrame:
    """EPA/db, success rate, CPOE, passer rating, ANY/A and the EPA+CPOE composite from sums."""
    def clip(e: pl.Expr) -> pl.Expr:
        return pl.min_horizontal(pl.max_horizontal(e, pl.lit(0.0)), pl.lit(2.375))

    att = pl.col("att")
    ok_att = att > 0
    epa = pl.when(pl.col("epa_n") > 0).then(pl.col("epa_s") / pl.col("epa_n"))
    cpoe = pl.when(pl.col("cp_n") > 0).then(pl.col("cp_s") / pl.col("cp_n"))
    rating = pl.when(ok_att).then(
        (clip((pl.col("cmp") / att - 0.3) * 5) + clip((pl.col("yds") / att - 3) * 0.25)
         + clip(pl.col("td") / att * 20) + clip(2.375 - pl.col("ints") / att * 25)) / 6 * 100)
    dropbacks_thrown = att + pl.col("sk")
    any_a = pl.when(dropbacks_thrown > 0).then(
        (pl.col("yds") + 20 * pl.col("td") - 45 * pl.col("ints") - pl.col("sky"))
        / dropbacks_thrown)
    return sums.with_columns(
        epa.alias("epa_per_dropback"),
        pl.when(pl.col("epa_n") > 0).then(pl.col("succ") / pl.col("epa_n")).alias("success_rate"),
        cpoe.alias("cpoe"), rating.alias("passer_rating"), any_a.alias("any_a"),
        (0.2 * epa + 0.009 * cpoe + 0.09).alias("epa_cpoe_composite"),
    )


def _by_dropbacks(reg: pl.DataFrame, col: str) -> pl.DataFrame:
    """The value of col with the most dropbacks per QB-season (ties alphabetical)."""
    return (reg.group_by(["season", "passer_id", col]).agg(pl.col("db").sum())
            .sort(["season", "passer_id", "db", col], descending=[False, False, True, False])
            .unique(["season", "passer_id"], keep="first", maintain_order=True)
            .select("season", "passer_id", col))


def peer_tables(games: pl.DataFrame, seasons: list[int] | None = None
                ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Peer metrics per REG QB-season (>= SEASON_MIN dropbacks; with team and passer_name)
    and per half-season of those QB-seasons (odd / even weeks, >= HALF_MIN dropbacks), from
    `peer_game_sums` rows."""
    if seasons is not None:
        games = games.filter(pl.col("season").is_in(seasons))
    reg = games.filter(pl.col("season_type") == "REG").with_columns(
        (pl.col("week") % 2).alias("half"))
    full = peer_metrics(group_sums(reg, ["season", "passer_id"], PEER_SUMS)).filter(
        pl.col("db") >= SEASON_MIN).join(_by_dropbacks(reg, "team"), on=["season", "passer_id"],
                                         how="left").join(
        _by_dropbacks(reg, "passer_name"), on=["season", "passer_id"], how="left")
    halves = peer_metrics(group_sums(reg, ["season", "passer_id", "half"], PEER_SUMS)).filter(
        pl.col("db") >= HALF_MIN).join(full.select("season", "passer_id"),
                                       on=["season", "passer_id"])
    return full, halves


def _name_key(name: str | None) -> str:
    """Lower-case last name without suffixes or punctuation ('G.Minshew II' -> 'minshew')."""
    if not name:
        return ""
    last = name.split(".", 1)[1] if "." in name.split(" ")[0] else name
    words = [w for w in "".join(ch if ch.isalpha() or ch == " " else " " for ch in
                                last.lower()).split() if w not in NAME_SUFFIXES]
    return "".join(words)


def load_qbr(path: Path | None = None) -> pl.DataFrame | None:
    """ESPN season QBR (regular season): season, team, last-name key, initial, qbr."""
    path = path or shared_dir() / "qbr" / "qbr-nfl-season.csv"
    if not path.exists():
        return None
    q = pl.read_csv(path, infer_schema_length=10000)
    q = q.filter(pl.col("season_type") == "Regular")
    return q.select(
        pl.col("season").cast(pl.Int64),
        pl.col("team_abb").replace(QBR_TEAMS).alias("team"),
        pl.col("name_last").map_elements(_name_key, return_dtype=pl.String).alias("key"),
        pl.col("name_first").str.slice(0, 1).str.to_lowercase().alias("initial"),
        pl.col("qbr_total").cast(pl.Float64).alias("qbr"),
    ).filter(pl.col("qbr").is_not_null())


def match_qbr(qbs: pl.DataFrame, qbr: pl.DataFrame) -> pl.DataFrame:
    """Attach QBR to QB-seasons (season, team, passer_name) by team + last name, else name."""
    ours = qbs.select("season", "passer_id", "team", "passer_name").with_columns(
        pl.col("passer_name").map_elements(_name_key, return_dtype=pl.String).alias("key"),
        pl.col("passer_name").str.slice(0, 1).str.to_lowercase().alias("initial"))
    by_team = qbr.unique(["season", "team", "key"], keep="none")
    first = ours.join(by_team.select("season", "team", "key", "qbr"),
                      on=["season", "team", "key"], how="inner")
    rest = ours.join(first.select("season", "passer_id"), on=["season", "passer_id"],
                     how="anti")
    by_name = qbr.group_by(["season", "key", "initial"]).agg(
        pl.col("qbr").first(), pl.len().alias("n")).filter(pl.col("n") == 1).drop("n")
    second = rest.join(by_name, on=["season", "key", "initial"], how="inner")
    return pl.concat([first.select("season", "passer_id", "qbr"),
                      second.select("season", "passer_id", "qbr")]).sort(
        ["season", "passer_id"])

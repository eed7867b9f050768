"""The season-end report: one self-contained HTML file (plotly.js inlined, works offline).

Reads `qb_season_scores` and `qb_game_scores` (and `score_weights` for the method note and the
season-to-date trajectories) of one model version; renders reports/templates/report.html.j2.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from passing_score.models.aggregator import INTERVAL, Aggregator
from passing_score.pipeline.foundation.errors import InputError
from passing_score.pipeline.foundation.versions import current_version
from passing_score.pipeline.foundation.vocabulary import COMPONENT_SHORT, COMPONENTS
from passing_score.pipeline.foundation.warehouse import fetch_one, query_pl, table_exists
from passing_score.pipeline.scoring.readers import load_aggregator
from passing_score.reports.leaderboard.board import available_seasons
from passing_score.reports.leaderboard.export import atomic_write, check_out_path
from passing_score.reports.leaderboard.terminal import format_number
from passing_score.reports.report.charts import (
    LABELLED,
    compare_chart,
    components_chart,
    html,
    interval_chart,
    scatter_chart,
    trajectory_chart,
)
from passing_score.reports.report.data import (
    check_qbs,
    season_rows,
    trajectories,
    weekly_boards,
)
from passing_score.reports.report.sections import (
    csv_href,
    named,
    playoff_rows,
    season_scope,
    split_leaders,
)
from passing_score.reports.validity.stats import pearson

TEMPLATES = Path(__file__).parent / "templates"
TOP_COMPONENTS = 12  # QBs in the component chart (unless --qbs)
TOP_TRAJECTORIES = 8  # QBs in the trajectory chart (unless --qbs)
MOVERS = 10


def _fmt(v: Any, f: str = "{:.1f}") -> str:
    """Format a number for the page; None/NaN as a dash, no "-0.0"."""
    return format_number(v, f, missing="\u2013")


def shown_components(agg: Aggregator | None) -> list[str]:
    """The components the report shows: those with a nonzero weight (all without a model)."""
    if agg is None:
        return list(COMPONENTS)
    return [c for c in COMPONENTS if abs(float(agg.weights.get(c, 0.0))) > 0]


def _weights_text(agg: Aggregator | None) -> str:
    if agg is None:
        return ""
    return ", ".join(f"{c} {float(agg.weights[c]):+.3f}" for c in shown_components(agg))


def render(con: duckdb.DuckDBPyConnection, season: int, compare: int | None = None,
           qbs: list[str] | None = None, model_version: str | None = None) -> str:
    """The report's HTML text (see build_report)."""
    mv = current_version(con, model_version)
    seasons = available_seasons(con, mv)
    for s, what in ((season, "season"), (compare, "--compare season")):
        if s is not None and s not in seasons:
            raise InputError(f"{what} {s} has no Passing Scores for model {mv} "
                             f"(available seasons: {', '.join(map(str, seasons)) or 'none'})")
    if compare is not None and compare == season:
        raise InputError(f"--compare {compare} is the report's own season: pick another")
    rows = named(con, season_rows(con, season, mv))
    board = rows.filter(pl.col("qualified").fill_null(False) & pl.col("rank").is_not_null()
                        ).sort("rank")
    if board.height == 0:
        raise InputError(f"season {season} has no qualified QB yet (REG, model {mv})")
    chosen = check_qbs(qbs, rows, season)
    highlight = set(chosen)
    agg = load_aggregator(con, mv) if table_exists(con, "score_weights") else None
    interval_pct = round(100 * float(agg.interval if agg is not None else INTERVAL))
    games = named(con, query_pl(con, "SELECT * FROM qb_game_scores WHERE season = ? AND "
                                     "model_version = ?", [season, mv])
                  ) if table_exists(con, "qb_game_scores") else pl.DataFrame()
    scope = season_scope(season, games)
    team_weeks = (games.filter(pl.col("season_type") == "REG").select("team", "week").unique()
                  if games.height else None)
    scatter, unlabelled = scatter_chart(board, highlight)

    comp_board = (rows.filter(pl.col("passer_id").is_in(chosen)) if chosen
                  else board.head(TOP_COMPONENTS))
    if comp_board["rank"].null_count():
        comp_board = comp_board.with_columns(pl.col("rank").fill_null(9999))
    shown = shown_components(agg)
    traj = (trajectories(games, weekly_boards(con, season, mv, agg)) if games.height
            else pl.DataFrame())
    order = chosen or board["passer_id"].head(TOP_TRAJECTORIES).to_list()

    charts = {"intervals": html(interval_chart(board, highlight, interval_pct), True,
                                 "chart-intervals"),
              "scatter": html(scatter, False, "chart-scatter"),
              "components": html(components_chart(comp_board, shown), False,
                                 "chart-components"),
              "trajectories": (html(trajectory_chart(traj, order, team_weeks), False,
                                    "chart-trajectories")
                               if traj.height else "<p>No game scores for this season.</p>")}

    before: dict[str, float] = {}
    movers: list[dict[str, Any]] = []
    n_both, yoy_r = 0, None
    if compare is not None:
        prev = named(con, season_rows(con, compare, mv)).filter(
            pl.col("qualified").fill_null(False))
        before = dict(zip(prev["passer_id"].to_list(), prev["score"].to_list(), strict=True))
        both = board.join(prev.select("passer_id", pl.col("score").alias("before")),
                          on="passer_id").with_columns(
            pl.col("score").alias("after"), (pl.col("score") - pl.col("before")).alias("change"))
        n_both = both.height
        yoy_r = pearson(both["before"], both["after"])
        charts["compare"] = (html(compare_chart(both, season, compare, highlight), False,
                                   "chart-compare")
                             if both.height else "<p>No QB qualified in both seasons.</p>")
        for r in both.sort(pl.col("change").abs(), descending=True).head(MOVERS).to_dicts():
            movers.append({"passer_name": r["passer_name"], "team": r["team"],
                           "before": _fmt(r["before"]), "after": _fmt(r["after"]),
                           "change": _fmt(r["change"], "{:+.1f}"),
                           "change_class": "up" if r["change"] >= 0 else "down"})

    table_rows = []
    for r in board.to_dicts():
        prior = before.get(r["passer_id"])
        change = None if prior is None else r["score"] - prior
        table_rows.append({
            "rank": r["rank"], "passer_name": r["passer_name"] or r["passer_id"],
            "team": r["team"] or "", "games": r["games"], "dropbacks": _fmt(r["dropbacks"], "{:,}"),
            "score": _fmt(r["score"]), "score_low": _fmt(r["score_low"]),
            "score_high": _fmt(r["score_high"]),
            "bar": int(max(0.0, min(49.0, (r["score"] or 50) - 50)) * 1.6),
            "comps": {c: _fmt(r.get(f"comp_{c}"), "{:.0f}") for c in shown},
            "epa": _fmt(r["epa_per_dropback"], "{:+.3f}"), "cpoe": _fmt(r["cpoe"], "{:+.1f}"),
            "change": "new" if change is None else _fmt(change, "{:+.1f}"),
            "change_class": "" if change is None else ("up" if change >= 0 else "down"),
            "highlight": r["passer_id"] in highlight})

    leader = board.row(0, named=True)
    kpis = [{"label": "leader", "value": f"{leader['passer_name']} {_fmt(leader['score'])}"},
            {"label": "qualified QBs", "value": str(board.height)},
            {"label": "median score", "value": _fmt(board["score"].median())},
            {"label": "dropbacks scored", "value": _fmt(rows["dropbacks"].sum(), "{:,}")}]
    if compare is not None:
        kpis.append({"label": f"year-to-year r ({compare})", "value": _fmt(yoy_r, "{:.2f}")})

    exact = agg is not None and table_exists(con, "play_predictions")
    traj_note = ("Season-to-date score after each week (the same shrinkage and scale as the "
                 "leaderboard; the last point is the season score)." if exact else
                 "Dropback-weighted running mean of each QB's game scores (this warehouse has "
                 "no stored score parameters).") + (
        " A line breaks where the QB missed a game his team played (byes stay joined). "
        "Hover for each game's own score.")
    ingest = (fetch_one(con, "SELECT max(ingested_at) FROM ingest_log")
              if table_exists(con, "ingest_log") else None)
    fresh = {"last_season": None, "last_week": None,
             "last_ingest_at": str(ingest[0])[:16] if ingest and ingest[0] else None}
    if not games.is_empty():
        last = games.sort(["week"]).tail(1).row(0, named=True)
        fresh.update(last_season=last["season"], last_week=last["week"])
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(
        ["html", "j2"]), undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    comp_subject = (f"the {len(chosen)} selected QBs" if chosen
                    else f"the top {comp_board.height} QBs")
    splits, splits_note = split_leaders(con, season, mv)
    return env.get_template("report.html.j2").render(
        title=f"QB Passing Score: {season} season report"
              + (f" (vs {compare})" if compare is not None else ""),
        season=season, compare=compare, season_label=scope["label"], scope=scope,
        playoffs=playoff_rows(con, season, mv), splits=splits, splits_note=splits_note,
        csv_href=csv_href(board), csv_name=f"passing_score_{season}_REG.csv",
        unlabelled=", ".join(unlabelled), labelled=LABELLED,
        model_version=mv, generated_at=datetime.now().strftime("%Y-%m-%d %H:%M"),
        freshness=fresh, kpis=kpis, rows=table_rows, charts=charts, interval_pct=interval_pct,
        components=[{"name": c, "short": COMPONENT_SHORT.get(c, c[:4])} for c in shown],
        unweighted=", ".join(c for c in COMPONENTS if c not in shown),
        epa_r=_fmt(pearson(board["epa_per_dropback"], board["score"]),
                   "{:.2f}"),
        component_subject=comp_subject, trajectory_note=traj_note, movers=movers,
        n_both=n_both, yoy_r=_fmt(yoy_r, "{:.2f}"), weights=_weights_text(agg),
        train_seasons=", ".join(map(str, agg.train_seasons if agg is not None else ())))


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def build_report(con: duckdb.DuckDBPyConnection, season: int, out: Path,
                 compare: int | None = None, qbs: list[str] | None = None,
                 model_version: str | None = None) -> Path:
    """Write the season report (HTML, charts inline, no network needed) to `out`; returns it.

    `compare` adds a season-over-season section; `qbs` (GSIS ids) picks the QBs of the
    component and trajectory charts and highlights them. Bad input is a one-line InputError.
    """
    check_out_path(Path(out))  # a bad target fails before the rendering, creating nothing
    html = render(con, season, compare, qbs, model_version)
    return atomic_write(Path(out), lambda tmp: _write(tmp, html))


def report_summary(path: Path) -> dict[str, Any]:
    """Size and chart count of a written report (for the CLI's one-line confirmation)."""
    text = Path(path).read_text(encoding="utf-8")
    return {"path": str(path), "bytes": len(text.encode()),
            "charts": text.count('class="plotly-graph-div"')}

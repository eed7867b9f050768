"""The season-end report: one self-contained HTML file (plotly.js inlined, works offline).

Reads `qb_season_scores` and `qb_game_scores` (and `score_weights` for the method note and the
season-to-date trajectories) of one model version; renders reports/templates/report.html.j2.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import plotly.graph_objects as go
import polars as pl
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pipeline import scoring
from pipeline.errors import InputError
from pipeline.warehouse import fetch_one, query_pl, table_exists
from reports import leaderboard as lb

TEMPLATES = Path(__file__).parent / "templates"
TOP_COMPONENTS = 12  # QBs in the component chart (unless --qbs)
TOP_TRAJECTORIES = 8  # QBs in the trajectory chart (unless --qbs)
MOVERS = 10
LABELLED = 8  # best QBs named on the scatter (plus the worst, outliers and --qbs)
SHORT = {"completion": "cmp", "interception": "int", "sack": "sack", "yards": "yds",
         "aggressiveness": "aggr"}
PALETTE = ["#1f5fbf", "#d1495b", "#edae49", "#00798c", "#6a4c93", "#3d9970", "#ff7f0e",
           "#8c564b", "#17becf", "#7f7f7f", "#bcbd22", "#e377c2"]
COMPONENT_COLORS = {"completion": "#1f5fbf", "interception": "#d1495b", "sack": "#edae49",
                    "yards": "#00798c", "aggressiveness": "#8d6cab"}
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True,
                 "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
AVERAGE_STARTER = 74.5  # the scale's centre: the average qualified starter (docs/scoring.md)


# ---------------------------------------------------------------- data


def _season_rows(con: duckdb.DuckDBPyConnection, season: int, mv: str) -> pl.DataFrame:
    return query_pl(con, "SELECT * FROM qb_season_scores WHERE season = ? AND season_type = "
                         "'REG' AND model_version = ? ORDER BY rank NULLS LAST, score DESC",
                    [season, mv])


def _params(con: duckdb.DuckDBPyConnection, mv: str) -> dict[str, Any] | None:
    """The stored score parameters (weights, k, scale) of the model version, if any."""
    try:
        return scoring.load_params(con, mv) if table_exists(con, "score_weights") else None
    except (ValueError, KeyError):
        return None


def trajectories(games: pl.DataFrame, params: dict[str, Any] | None) -> pl.DataFrame:
    """Season-to-date score after each REG week of each QB, from his game rows.

    With the stored parameters this is the board's own score (raw mean of the scored
    dropbacks to date, shrunk toward the league mean to date with k_season, on the season
    scale); without them, the dropback-weighted mean of his game scores.
    """
    g = games.filter(pl.col("season_type") == "REG").sort(["passer_id", "week", "game_id"])
    if g.height == 0:
        return pl.DataFrame(schema={"passer_id": pl.String, "week": pl.Int64,
                                    "to_date": pl.Float64, "game_score": pl.Float64})
    if params and params.get("scale", {}).get("season") and "k_season" in params:
        n = pl.col("scored_dropbacks").fill_null(0).cast(pl.Float64)
        v = pl.when(n > 0).then(pl.col("play_value") * n).otherwise(0.0)
        league = (g.group_by("week").agg(pl.col("league_mean").first().alias("m")))
        out = g.with_columns(v.alias("_v"), n.alias("_n")).with_columns(
            pl.col("_v").cum_sum().over("passer_id").alias("cv"),
            pl.col("_n").cum_sum().over("passer_id").alias("cn")).join(league, on="week")
        k = float(params["k_season"])
        sc = params["scale"]["season"]
        cn, cv, m = (out[c].to_numpy().astype(np.float64) for c in ("cn", "cv", "m"))
        with np.errstate(invalid="ignore", divide="ignore"):
            x = np.where(cn > 0, cv / np.where(cn > 0, cn, 1.0), m)
        theta = m + cn / (cn + k) * (x - m)
        to_date = scoring.to_score(theta, float(sc["mean"]), float(sc["sd"]))
        out = out.with_columns(pl.Series("to_date", to_date))
    else:
        w = pl.col("dropbacks").cast(pl.Float64)
        out = g.with_columns((pl.col("score") * w).fill_null(0).cum_sum().over("passer_id")
                             .alias("sw"),
                             pl.when(pl.col("score").is_not_null()).then(w).otherwise(0.0)
                             .cum_sum().over("passer_id").alias("sn"))
        out = out.with_columns((pl.col("sw") / pl.col("sn")).alias("to_date"))
    return out.select("passer_id", "passer_name", "team", "week", "to_date",
                      pl.col("score").alias("game_score"), "opponent", "dropbacks")


def _corr(a: list[Any], b: list[Any]) -> float | None:
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None
             and math.isfinite(x) and math.isfinite(y)]
    if len(pairs) < 3:
        return None
    x, y = np.array(pairs, dtype=np.float64).T
    if x.std() == 0 or y.std() == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


# ---------------------------------------------------------------- charts


def _layout(fig: go.Figure, height: int, **kw: Any) -> go.Figure:
    fig.update_layout(template="plotly_white", height=height,
                      margin={"l": 10, "r": 20, "t": 30, "b": 40},
                      font={"family": "-apple-system, Segoe UI, Roboto, Arial, sans-serif",
                            "size": 12},
                      hoverlabel={"namelength": -1}, **kw)
    return fig


def interval_chart(board: pl.DataFrame, highlight: set[str], interval_pct: int) -> go.Figure:
    """Dot-and-whisker: every qualified QB's score and interval, best on top."""
    b = board.sort("rank", descending=True)
    names = [f"{r['rank']}. {r['passer_name']} ({r['team']})" for r in b.to_dicts()]
    colors = ["#d1495b" if pid in highlight else "#1f5fbf" for pid in b["passer_id"]]
    fig = go.Figure(go.Scatter(
        x=b["score"].to_list(), y=names, mode="markers",
        marker={"size": 9, "color": colors},
        error_x={"type": "data", "symmetric": False, "color": "#8aa0c8", "thickness": 2,
                 "width": 0,
                 "array": (b["score_high"] - b["score"]).to_list(),
                 "arrayminus": (b["score"] - b["score_low"]).to_list()},
        customdata=np.column_stack([b["score_low"].to_numpy(), b["score_high"].to_numpy(),
                                    b["dropbacks"].to_numpy()]),
        hovertemplate="%{y}<br>score %{x:.1f} (" + str(interval_pct)
                      + "%: %{customdata[0]:.1f}-%{customdata[1]:.1f})"
                      "<br>%{customdata[2]} dropbacks<extra></extra>"))
    fig.add_vline(x=AVERAGE_STARTER, line_dash="dot", line_color="#9aa3b2",
                  annotation_text="average starter", annotation_position="top")
    _layout(fig, max(260, 24 * b.height + 80), showlegend=False)
    fig.update_xaxes(title="Passing Score", range=[49, 100])
    fig.update_yaxes(automargin=True, tickfont={"size": 11})
    return fig


def _labels(names: list[str], ids: list[str], keep: set[str]) -> list[str]:
    """Text labels only for the points worth naming (the rest are named on hover)."""
    return [n if i in keep else "" for n, i in zip(names, ids, strict=True)]


def scatter_chart(board: pl.DataFrame, highlight: set[str]) -> go.Figure:
    """Score against EPA per dropback, sized by dropbacks, with a least-squares line."""
    b = board.filter(pl.col("epa_per_dropback").is_not_null() & pl.col("score").is_not_null())
    x, y = b["epa_per_dropback"].to_numpy(), b["score"].to_numpy()
    db = b["dropbacks"].to_numpy().astype(np.float64)
    size = 8 + 14 * np.sqrt(db / db.max()) if b.height else []
    ids = b["passer_id"].to_list()
    names = [str(n or i) for n, i in zip(b["passer_name"].to_list(), ids, strict=True)]
    resid = y - np.polyval(np.polyfit(x, y, 1), x) if b.height >= 3 and np.std(x) > 0 \
        else np.zeros(b.height)
    order = np.argsort(-np.abs(resid)) if b.height else []
    keep = set(ids[:LABELLED]) | set(ids[-3:]) | {ids[i] for i in order[:4]} | highlight
    fig = go.Figure(go.Scatter(
        x=x, y=y, mode="markers+text", text=_labels(names, ids, keep),
        textposition="top center", textfont={"size": 10, "color": "#5b6478"},
        marker={"size": size, "opacity": 0.8,
                "color": ["#d1495b" if p in highlight else "#1f5fbf" for p in ids]},
        customdata=np.column_stack([names, b["team"].to_numpy(), db]) if b.height else None,
        hovertemplate="%{customdata[0]} (%{customdata[1]})<br>EPA/db %{x:.3f}<br>"
                      "score %{y:.1f}<br>%{customdata[2]} dropbacks<extra></extra>"))
    if b.height >= 3 and np.std(x) > 0:
        slope, icpt = np.polyfit(x, y, 1)
        xs = np.array([x.min(), x.max()])
        fig.add_trace(go.Scatter(x=xs, y=slope * xs + icpt, mode="lines", hoverinfo="skip",
                                 line={"color": "#9aa3b2", "dash": "dash"}))
    _layout(fig, 460, showlegend=False)
    fig.update_xaxes(title="EPA per dropback")
    fig.update_yaxes(title="Passing Score",
                     range=[max(49.0, float(y.min()) - 4) if b.height else 49.0, 101])
    return fig


def components_chart(board: pl.DataFrame) -> go.Figure:
    """Stacked (relative) bars of each QB's component contributions, plus the total."""
    b = board.sort("rank", descending=True)
    names = [f"{r['passer_name']} ({r['team']})" for r in b.to_dicts()]
    fig = go.Figure()
    for c in scoring.COMPONENTS:
        col = f"val_{c}"
        if col not in b.columns:
            continue
        fig.add_trace(go.Bar(x=b[col].to_list(), y=names, orientation="h", name=c,
                             marker_color=COMPONENT_COLORS.get(c),
                             hovertemplate=f"{c}: " + "%{x:+.4f} EPA/db<extra>%{y}</extra>"))
    vals = [f"val_{c}" for c in scoring.COMPONENTS if f"val_{c}" in b.columns]
    total = b.select(pl.sum_horizontal(vals)).to_series().to_list() if vals else []
    fig.add_trace(go.Scatter(x=total, y=names, mode="markers", name="play value",
                             marker={"symbol": "diamond", "size": 9, "color": "#14213d"},
                             hovertemplate="play value %{x:+.4f}<extra>%{y}</extra>"))
    _layout(fig, max(300, 30 * b.height + 130), barmode="relative",
            legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0})
    fig.update_layout(margin={"t": 60})
    fig.update_xaxes(title="contribution (EPA per dropback)", zeroline=True,
                     zerolinecolor="#9aa3b2")
    fig.update_yaxes(automargin=True)
    return fig


def trajectory_chart(traj: pl.DataFrame, order: list[str]) -> go.Figure:
    """Season-to-date score by week, one line per QB (game scores in the hover)."""
    fig = go.Figure()
    for i, pid in enumerate(order):
        t = traj.filter(pl.col("passer_id") == pid).sort("week")
        if t.height == 0:
            continue
        name = t["passer_name"].drop_nulls().to_list()[-1] if t["passer_name"].drop_nulls().len() \
            else pid
        color = PALETTE[i % len(PALETTE)]
        fig.add_trace(go.Scatter(
            x=t["week"].to_list(), y=t["to_date"].to_list(), mode="lines+markers", name=name,
            line={"color": color, "width": 2.5}, marker={"size": 6},
            customdata=np.column_stack([t["game_score"].to_numpy(),
                                        t["opponent"].fill_null("").to_numpy()]),
            hovertemplate=name + " week %{x}: to date %{y:.1f}<br>game vs %{customdata[1]}: "
                          "%{customdata[0]:.1f}<extra></extra>"))
    _layout(fig, 440, legend={"orientation": "v", "x": 1.01, "y": 1})
    fig.update_xaxes(title="week", dtick=1)
    fig.update_yaxes(title="season-to-date Passing Score")
    return fig


def compare_chart(both: pl.DataFrame, season: int, compare: int,
                  highlight: set[str]) -> go.Figure:
    """This season's score against the comparison season's, with the y = x diagonal."""
    ids = both["passer_id"].to_list()
    names = [str(n or i) for n, i in zip(both["passer_name"].to_list(), ids, strict=True)]
    movers = both.sort(pl.col("change").abs(), descending=True)["passer_id"].head(6).to_list()
    top = both.sort("after", descending=True)["passer_id"].head(4).to_list()
    fig = go.Figure(go.Scatter(
        x=both["before"].to_list(), y=both["after"].to_list(), mode="markers+text",
        text=_labels(names, ids, set(movers) | set(top) | highlight), customdata=names,
        textposition="top center", textfont={"size": 10, "color": "#5b6478"},
        marker={"size": 9, "color": ["#1b7f3b" if d >= 0 else "#b3261e"
                                     for d in both["change"].to_list()]},
        hovertemplate="%{customdata}<br>" + f"{compare}: " + "%{x:.1f}<br>" + f"{season}: "
                      + "%{y:.1f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[50, 99], y=[50, 99], mode="lines", hoverinfo="skip",
                             line={"color": "#9aa3b2", "dash": "dot"}))
    _layout(fig, 480, showlegend=False)
    fig.update_xaxes(title=f"{compare} score", range=[49, 100])
    fig.update_yaxes(title=f"{season} score", range=[49, 100])
    return fig


def _html(fig: go.Figure, first: bool, div_id: str) -> str:
    """A figure's div; the first one carries plotly.js inline (no CDN, works offline)."""
    return str(fig.to_html(full_html=False, include_plotlyjs=bool(first),
                           config=PLOTLY_CONFIG, div_id=div_id))


# ---------------------------------------------------------------- the report


def _fmt(v: Any, f: str = "{:.1f}") -> str:
    """Format a number for the page; None/NaN as a dash, no "-0.0"."""
    return lb.format_number(v, f, missing="\u2013")


def _weights_text(params: dict[str, Any] | None) -> str:
    if not params or "weights" not in params:
        return ""
    w = params["weights"]
    return ", ".join(f"{c} {float(w[c]):+.3f}" for c in scoring.COMPONENTS if c in w)


def _check_qbs(qbs: list[str] | None, season_rows: pl.DataFrame, season: int) -> list[str]:
    if not qbs:
        return []
    known = set(season_rows["passer_id"].to_list())
    ids = list(dict.fromkeys(q.strip() for q in qbs if q.strip()))
    missing = [q for q in ids if q not in known]
    if missing:
        raise InputError(f"--qbs {', '.join(missing)}: no {season} REG score for "
                         f"{'this QB' if len(missing) == 1 else 'these QBs'}")
    return ids


def render(con: duckdb.DuckDBPyConnection, season: int, compare: int | None = None,
           qbs: list[str] | None = None, model_version: str | None = None) -> str:
    """The report's HTML text (see build_report)."""
    mv = lb.default_score_version(con, model_version)
    seasons = lb.available_seasons(con, mv)
    for s, what in ((season, "season"), (compare, "--compare season")):
        if s is not None and s not in seasons:
            raise InputError(f"{what} {s} has no Passing Scores for model {mv} "
                             f"(available seasons: {', '.join(map(str, seasons)) or 'none'})")
    if compare is not None and compare == season:
        raise InputError(f"--compare {compare} is the report's own season: pick another")
    rows = _season_rows(con, season, mv)
    board = rows.filter(pl.col("qualified").fill_null(False) & pl.col("rank").is_not_null()
                        ).sort("rank")
    if board.height == 0:
        raise InputError(f"season {season} has no qualified QB yet (REG, model {mv})")
    chosen = _check_qbs(qbs, rows, season)
    highlight = set(chosen)
    params = _params(con, mv)
    interval_pct = round(100 * float((params or {}).get("interval", scoring.INTERVAL)))
    games = query_pl(con, "SELECT * FROM qb_game_scores WHERE season = ? AND model_version = ?",
                     [season, mv]) if table_exists(con, "qb_game_scores") else pl.DataFrame()

    comp_board = (rows.filter(pl.col("passer_id").is_in(chosen)) if chosen
                  else board.head(TOP_COMPONENTS))
    if comp_board["rank"].null_count():
        comp_board = comp_board.with_columns(pl.col("rank").fill_null(9999))
    traj = trajectories(games, params) if games.height else pl.DataFrame()
    order = chosen or board["passer_id"].head(TOP_TRAJECTORIES).to_list()

    charts = {"intervals": _html(interval_chart(board, highlight, interval_pct), True,
                                 "chart-intervals"),
              "scatter": _html(scatter_chart(board, highlight), False, "chart-scatter"),
              "components": _html(components_chart(comp_board), False, "chart-components"),
              "trajectories": (_html(trajectory_chart(traj, order), False, "chart-trajectories")
                               if traj.height else "<p>No game scores for this season.</p>")}

    before: dict[str, float] = {}
    movers: list[dict[str, Any]] = []
    n_both, yoy_r = 0, None
    if compare is not None:
        prev = _season_rows(con, compare, mv).filter(pl.col("qualified").fill_null(False))
        before = dict(zip(prev["passer_id"].to_list(), prev["score"].to_list(), strict=True))
        both = board.join(prev.select("passer_id", pl.col("score").alias("before")),
                          on="passer_id").with_columns(
            pl.col("score").alias("after"), (pl.col("score") - pl.col("before")).alias("change"))
        n_both = both.height
        yoy_r = _corr(both["before"].to_list(), both["after"].to_list())
        charts["compare"] = (_html(compare_chart(both, season, compare, highlight), False,
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
            "comps": {c: _fmt(r.get(f"comp_{c}"), "{:.0f}") for c in scoring.COMPONENTS},
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

    exact = bool(params and params.get("scale", {}).get("season") and "k_season" in params)
    traj_note = ("Season-to-date score after each week (the same shrinkage and scale as the "
                 "leaderboard; the last point is the season score). Hover for each game's own "
                 "score." if exact else
                 "Dropback-weighted running mean of each QB's game scores (this warehouse has "
                 "no stored score parameters). Hover for each game's own score.")
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
    return env.get_template("report.html.j2").render(
        title=f"QB Passing Score: {season} season report"
              + (f" (vs {compare})" if compare is not None else ""),
        season=season, compare=compare, season_label=f"{season} regular season",
        model_version=mv, generated_at=datetime.now().strftime("%Y-%m-%d %H:%M"),
        freshness=fresh, kpis=kpis, rows=table_rows, charts=charts, interval_pct=interval_pct,
        components=[{"name": c, "short": SHORT.get(c, c[:4])} for c in scoring.COMPONENTS],
        epa_r=_fmt(_corr(board["epa_per_dropback"].to_list(), board["score"].to_list()),
                   "{:.2f}"),
        component_subject=comp_subject, trajectory_note=traj_note, movers=movers,
        n_both=n_both, yoy_r=_fmt(yoy_r, "{:.2f}"), weights=_weights_text(params),
        k_season=_fmt((params or {}).get("k_season"), "{:.0f}") if params else "",
        train_seasons=", ".join(map(str, (params or {}).get("train_seasons", []))))


def build_report(con: duckdb.DuckDBPyConnection, season: int, out: Path,
                 compare: int | None = None, qbs: list[str] | None = None,
                 model_version: str | None = None) -> Path:
    """Write the season report (HTML, charts inline, no network needed) to `out`; returns it.

    `compare` adds a season-over-season section; `qbs` (GSIS ids) picks the QBs of the
    component and trajectory charts and highlights them. Bad input is a one-line InputError.
    """
    lb.check_out_path(Path(out))  # a bad target fails before the rendering, creating nothing
    html = render(con, season, compare, qbs, model_version)
    return lb.atomic_write(Path(out), lambda tmp: tmp.write_text(html, encoding="utf-8"))


def report_summary(path: Path) -> dict[str, Any]:
    """Size and chart count of a written report (for the CLI's one-line confirmation)."""
    text = Path(path).read_text(encoding="utf-8")
    return {"path": str(path), "bytes": len(text.encode()),
            "charts": text.count('class="plotly-graph-div"')}


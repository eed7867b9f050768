"""The season report's charts (plotly figures, rendered inline without network)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl

from passing_score.pipeline.foundation.vocabulary import COMPONENTS

PALETTE = ["#1f5fbf", "#d1495b", "#edae49", "#00798c", "#6a4c93", "#3d9970", "#ff7f0e",
           "#8c564b", "#17becf", "#7f7f7f", "#bcbd22", "#e377c2"]
COMPONENT_COLORS = {"completion": "#1f5fbf", "interception": "#d1495b", "sack": "#edae49",
                    "yards_qb": "#00798c", "aggressiveness": "#8d6cab", "yac": "#3d9970",
                    "epa_qb": "#14213d", "success": "#ff7f0e"}
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True,
                 "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
AVERAGE_STARTER = 74.5  # the scale's centre: the average qualified starter (docs/scoring.md)
LABELLED = 8  # best QBs named on the scatter (plus the worst, outliers and --qbs)


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


# label positions tried in order, as (plotly textposition, dx, dy) in label-box units
_POSITIONS = [("top center", 0.0, 1.0), ("bottom center", 0.0, -1.0),
              ("middle right", 0.55, 0.0), ("middle left", -0.55, 0.0),
              ("top right", 0.5, 0.9), ("top left", -0.5, 0.9),
              ("bottom right", 0.5, -0.9), ("bottom left", -0.5, -0.9)]
PLOT_PX = (520.0, 360.0)  # plot area of a half-width chart (px), for label collisions
CHAR_PX, LINE_PX = 6.2, 13.0


def place_labels(x: np.ndarray, y: np.ndarray, names: list[str], order: list[int],
                 xr: tuple[float, float], yr: tuple[float, float]
                 ) -> tuple[list[str], list[str], list[int]]:
    """Non-overlapping label positions for the points in `order` (most important first):
    each label takes the first position whose box (in pixels of a PLOT_PX plot) overlaps no
    placed label, no other point and stays inside the plot; a label that fits nowhere is left
    out. Returns (text per point, textposition per point, indices left out)."""
    sx = PLOT_PX[0] / max(xr[1] - xr[0], 1e-9)
    sy = PLOT_PX[1] / max(yr[1] - yr[0], 1e-9)
    px, py = (x - xr[0]) * sx, (y - yr[0]) * sy
    boxes: list[tuple[float, float, float, float]] = []
    text, pos, dropped = [""] * len(x), ["top center"] * len(x), []

    def free(b: tuple[float, float, float, float], me: int) -> bool:
        x0, y0, x1, y1 = b
        if x0 < -8 or x1 > PLOT_PX[0] + 15 or y0 < -8 or y1 > PLOT_PX[1] + 24:
            return False  # labels may use the margins (cliponaxis off), not leave the figure
        if any(x0 < c[2] and c[0] < x1 and y0 < c[3] and c[1] < y1 for c in boxes):
            return False
        return not any(j != me and x0 - 4 < px[j] < x1 + 4 and y0 - 4 < py[j] < y1 + 4
                       for j in range(len(x)))

    for i in order:
        w, h = CHAR_PX * len(names[i]) + 4, LINE_PX
        for name, dx, dy in _POSITIONS:
            cx = px[i] + (float(np.sign(dx)) * (w / 2 + 8) if dx else 0.0)
            cy = py[i] + dy * (h / 2 + 7)
            box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            if free(box, i):
                boxes.append(box)
                text[i], pos[i] = names[i], name
                break
        else:
            dropped.append(i)
    return text, pos, dropped


def scatter_chart(board: pl.DataFrame, highlight: set[str], labelled: int = LABELLED
                  ) -> tuple[go.Figure, list[str]]:
    """Score against EPA per dropback, bubble area proportional to dropbacks, with a
    least-squares line. The top `labelled` QBs by score (and the highlighted ones) are named
    where a label fits without overlapping; returns the figure and the names of labelled
    candidates that did not fit (listed under the chart)."""
    b = board.filter(pl.col("epa_per_dropback").is_not_null() & pl.col("score").is_not_null())
    x, y = b["epa_per_dropback"].to_numpy(), b["score"].to_numpy()
    db = b["dropbacks"].to_numpy().astype(np.float64)
    size = 8 + 14 * np.sqrt(db / db.max()) if b.height else []
    ids = b["passer_id"].to_list()
    names = [str(n or i) for n, i in zip(b["passer_name"].to_list(), ids, strict=True)]
    by_score = list(np.argsort(-y)) if b.height else []
    order = [int(i) for i in by_score[:labelled]] + [
        i for i, p in enumerate(ids) if p in highlight and i not in by_score[:labelled]]
    xr = (float(x.min()) - 0.04, float(x.max()) + 0.04) if b.height else (0.0, 1.0)
    yr = (max(49.0, float(y.min()) - 4) if b.height else 49.0, 101.0)
    text, pos, dropped = place_labels(x, y, names, order, xr, yr)
    fig = go.Figure(go.Scatter(
        x=x, y=y, mode="markers+text", text=text, textposition=pos, cliponaxis=False,
        textfont={"size": 10, "color": "#3d4556"},
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
    fig.update_xaxes(title="EPA per dropback", range=list(xr))
    fig.update_yaxes(title="Passing Score", range=list(yr))
    return fig, [names[i] for i in dropped]


def components_chart(board: pl.DataFrame, components: Sequence[str] = COMPONENTS
                     ) -> go.Figure:
    """Stacked (relative) bars of each QB's component contributions (the components given:
    those with a nonzero weight), plus the total."""
    b = board.sort("rank", descending=True)
    names = [f"{r['passer_name']} ({r['team']})" for r in b.to_dicts()]
    fig = go.Figure()
    for c in components:
        col = f"val_{c}"
        if col not in b.columns:
            continue
        fig.add_trace(go.Bar(x=b[col].to_list(), y=names, orientation="h", name=c,
                             marker_color=COMPONENT_COLORS.get(c),
                             hovertemplate=f"{c}: " + "%{x:+.4f} EPA/db<extra>%{y}</extra>"))
    vals = [f"val_{c}" for c in components if f"val_{c}" in b.columns]
    total = b.select(pl.sum_horizontal(vals)).to_series().to_list() if vals else []
    fig.add_trace(go.Scatter(x=total, y=names, mode="markers", name="play value (vs league)",
                             marker={"symbol": "diamond", "size": 9, "color": "#14213d"},
                             hovertemplate="play value %{x:+.4f}<extra>%{y}</extra>"))
    _layout(fig, max(300, 30 * b.height + 130), barmode="relative",
            legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0})
    fig.update_layout(margin={"t": 60})
    fig.update_xaxes(title="contribution (EPA per dropback)", zeroline=True,
                     zerolinecolor="#9aa3b2")
    fig.update_yaxes(automargin=True)
    return fig


def with_gaps(traj: pl.DataFrame, team_weeks: pl.DataFrame | None) -> pl.DataFrame:
    """Trajectory rows plus a null row for every week his team played without him (between
    his first and last game), so the line breaks at missed games; byes stay joined. Without
    team weeks every week between his games without a game is a gap."""
    out = []
    for pid, t in traj.group_by("passer_id", maintain_order=True):
        weeks = set(t["week"].to_list())
        lo, hi = min(weeks), max(weeks)
        if team_weeks is not None and team_weeks.height:
            teams = set(t["team"].drop_nulls().to_list())
            played = set(team_weeks.filter(pl.col("team").is_in(list(teams)))["week"].to_list())
        else:
            played = set(range(lo, hi + 1))
        missed = sorted(w for w in played if lo < w < hi and w not in weeks)
        if missed:
            t = pl.concat([t, pl.DataFrame({"passer_id": [pid[0]] * len(missed),
                                            "week": missed})], how="diagonal_relaxed")
        out.append(t.sort("week"))
    return pl.concat(out, how="diagonal_relaxed") if out else traj


def trajectory_chart(traj: pl.DataFrame, order: list[str],
                     team_weeks: pl.DataFrame | None = None) -> go.Figure:
    """Season-to-date score by week, one line per QB (game scores in the hover); the line
    breaks where he missed a game his team played."""
    fig = go.Figure()
    traj = with_gaps(traj, team_weeks) if traj.height else traj
    for i, pid in enumerate(order):
        t = traj.filter(pl.col("passer_id") == pid).sort("week")
        if t.height == 0:
            continue
        name = t["passer_name"].drop_nulls().to_list()[-1] if t["passer_name"].drop_nulls().len() \
            else pid
        color = PALETTE[i % len(PALETTE)]
        fig.add_trace(go.Scatter(
            x=t["week"].to_list(), y=t["to_date"].to_list(), mode="lines+markers", name=name,
            line={"color": color, "width": 2.5}, marker={"size": 6}, connectgaps=False,
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


def html(fig: go.Figure, first: bool, div_id: str) -> str:
    """A figure's div; the first one carries plotly.js inline (no CDN, works offline)."""
    return str(fig.to_html(full_html=False, include_plotlyjs=bool(first),
                           config=PLOTLY_CONFIG, div_id=div_id))

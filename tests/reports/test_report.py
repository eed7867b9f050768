"""The season-end HTML report (reports.report): content, input errors, and a headless-Chromium
render (no console errors, charts drawn, a non-blank screenshot)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import duckdb
import numpy as np
import polars as pl
import pytest

from passing_score.pipeline.foundation.errors import InputError
from passing_score.pipeline.foundation.vocabulary import COMPONENTS
from passing_score.pipeline.foundation.warehouse import query_pl
from passing_score.pipeline.scoring.readers import load_aggregator
from passing_score.reports.report import render as report
from passing_score.reports.report.data import trajectories, weekly_boards
from tests.factories.boards import (
    BACKUP_ID,
    MV,
    SEASONS,
    make_score_warehouse,
    make_scored_warehouse,
    qb,
)

EXTERNAL = re.compile(r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)\s*=\s*"
                      r"[\"']?(?:https?:)?//", re.IGNORECASE)
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
                  "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=10000"]


def chromium() -> str | None:
    """The headless browser to test with (Debian's chromium), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    """Read-only connection to a league scored by pipeline.scoring (weights stored)."""
    db = make_scored_warehouse(tmp_path_factory.mktemp("rep") / "w.duckdb")
    con = duckdb.connect(str(db), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    """Read-only connection to a warehouse with only the score tables."""
    db = make_score_warehouse(tmp_path_factory.mktemp("rep_s") / "s.duckdb")
    con = duckdb.connect(str(db), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def report_file(scored: duckdb.DuckDBPyConnection,
                tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full report (with --compare) of the scored league."""
    out = tmp_path_factory.mktemp("rep_out") / "report.html"
    return report.build_report(scored, SEASONS[-1], out, compare=SEASONS[0])


def test_report_is_self_contained_with_every_section(report_file: Path) -> None:
    html = report_file.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "cdn.plot.ly" not in html.split("<body>")[0]
    assert html.count('class="plotly-graph-div"') == 5
    for section in ("leaderboard", "score-vs-epa", "components", "trajectories", "comparison",
                    "method"):
        assert f'id="{section}"' in html
    assert html.count("Plotly.newPlot") == 5 and "P.Mahomes" in html
    assert oct(report_file.stat().st_mode & 0o777) != "0o600"
    summary = report.report_summary(report_file)
    assert summary["charts"] == 5 and summary["bytes"] > 1_000_000  # plotly.js inline


def test_trajectory_ends_at_the_season_score(scored: duckdb.DuckDBPyConnection) -> None:
    games = query_pl(scored, "SELECT * FROM qb_game_scores WHERE season = ?", [SEASONS[-1]])
    mv = games["model_version"][0]
    agg = load_aggregator(scored, mv)
    traj = trajectories(games, weekly_boards(scored, SEASONS[-1], mv, agg))
    last = traj.sort("week").group_by("passer_id").last()
    season = query_pl(scored, "SELECT passer_id, score FROM qb_season_scores WHERE season = ? "
                              "AND season_type = 'REG'", [SEASONS[-1]])
    both = last.join(season, on="passer_id")
    assert both.height == season.height
    assert np.allclose(both["to_date"].to_numpy(), both["score"].to_numpy(), atol=1e-6)


def test_report_on_score_tables_only_and_qbs(stored: duckdb.DuckDBPyConnection,
                                             tmp_path: Path) -> None:
    out = report.build_report(stored, SEASONS[-1], tmp_path / "deep" / "r.html",
                              qbs=[qb(2), BACKUP_ID])
    html = out.read_text(encoding="utf-8")
    assert html.count('class="plotly-graph-div"') == 4 and 'id="comparison"' not in html
    assert "the 2 selected QBs" in html and 'class="hl"' in html
    assert "running mean of each QB" in html  # no score_weights: the fallback trajectory
    games = query_pl(stored, "SELECT * FROM qb_game_scores WHERE season = ?", [SEASONS[-1]])
    traj = trajectories(games, weekly_boards(stored, SEASONS[-1], MV, None))
    one = traj.filter(pl.col("passer_id") == qb(0)).sort("week")
    assert one["to_date"][0] == one["game_score"][0]


def test_bad_input_is_one_line(stored: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"season 1999 .*available seasons: 2022, 2023"):
        report.build_report(stored, 1999, tmp_path / "r.html")
    with pytest.raises(InputError, match="--compare season 2010"):
        report.build_report(stored, 2023, tmp_path / "r.html", compare=2010)
    with pytest.raises(InputError, match="own season"):
        report.build_report(stored, 2023, tmp_path / "r.html", compare=2023)
    with pytest.raises(InputError, match="--qbs 00-nobody"):
        report.build_report(stored, 2023, tmp_path / "r.html", qbs=["00-nobody"])
    with pytest.raises(InputError, match="is a directory"):
        report.build_report(stored, 2023, tmp_path)
    with pytest.raises(InputError, match="model version"):
        report.build_report(stored, 2023, tmp_path / "r.html", model_version="nope")
    assert not (tmp_path / "r.html").exists()


def _run_chromium(browser: str, args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    env = {**os.environ, "HOME": str(tmp)}
    return subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, env=env, check=False)


def _console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines()
            if "ERROR:CONSOLE" in line or ("CONSOLE" in line and re.search(
                r"Uncaught|Error|error|Failed", line))]


@pytest.mark.skipif(chromium() is None,
                    reason="no chromium on PATH (Debian: apt-get install -y chromium)")
def test_report_renders_in_headless_chromium(report_file: Path, tmp_path: Path) -> None:
    browser = chromium()
    assert browser is not None
    url = report_file.resolve().as_uri()
    dom = _run_chromium(browser, ["--dump-dom", url], tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert not _console_errors(dom.stderr), _console_errors(dom.stderr)
    # plotly draws each chart into SVG: 5 charts, each with its main svg and drawn marks
    assert dom.stdout.count('class="main-svg"') >= 5
    assert dom.stdout.count('class="point"') >= 16  # dots of the interval and scatter charts
    assert "P.Mahomes" in dom.stdout and 'class="errorbar"' in dom.stdout

    shot = tmp_path / "report.png"
    run = _run_chromium(browser, [f"--screenshot={shot}", "--window-size=1400,2000", url],
                        tmp_path)
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    assert not _console_errors(run.stderr), _console_errors(run.stderr)
    keep = os.environ.get("PASSING_SCORE_REPORT_SHOT")
    if keep:
        shutil.copy(shot, keep)
    image = pytest.importorskip("PIL.Image", reason="Pillow checks the screenshot's pixels")
    with image.open(shot) as im:
        rgb = im.convert("RGB")
        assert rgb.size == (1400, 2000)
        colors = rgb.getcolors(maxcolors=1 << 20) or []
        assert len(colors) > 200, "screenshot has too few colours: blank page?"
        pixels = np.asarray(rgb)
        background = (pixels > 240).all(axis=2).mean()
        assert background < 0.9, f"{background:.0%} near-white: blank page?"


def test_sections_wording_and_download(report_file: Path) -> None:
    html = report_file.read_text(encoding="utf-8")
    for section in ("playoffs", "splits"):
        assert f'id="{section}"' in html
    assert "2023 regular season through week 6" in html
    assert "data through" not in html and "week 7</span>" not in html
    assert "playoffs through week 7" in html
    for split in ("deep", "under pressure", "red zone"):
        assert f"<h3>{split}</h3>" in html
    m = re.search(r'href="data:text/csv;charset=utf-8,([^"]+)" download="([^"]+)"', html)
    assert m and m.group(2) == "passing_score_2023_REG.csv"
    from urllib.parse import unquote

    csv = unquote(m.group(1)).splitlines()
    assert csv[0].startswith("rank,passer_id,passer_name,passer_full_name,team")
    assert "Bubble area is proportional to dropbacks" in html and "@media print" in html


def test_scatter_labels_do_not_collide_and_name_the_leader() -> None:
    from passing_score.reports.report.charts import CHAR_PX, place_labels

    rng = np.random.default_rng(0)
    x = np.concatenate([[0.30, 0.29, 0.28, 0.20, 0.21], rng.uniform(-0.2, 0.2, 30)])
    y = np.concatenate([[98.5, 97.9, 97.5, 95.0, 95.2], rng.uniform(55, 90, 30)])
    names = ["Lamar Jackson", "Josh Allen", "Joe Burrow", "Jordan Love", "Brock Purdy",
             *[f"QB {i}" for i in range(30)]]
    text, pos, dropped = place_labels(x, y, names, list(range(8)), (-0.25, 0.34), (49.0, 101.0))
    assert text[0] == "Lamar Jackson"  # the leader is named, inside the plot
    assert all(text[i] or i in dropped for i in range(8))
    assert CHAR_PX > 0 and len(pos) == len(x)


def test_trajectories_break_at_missed_games_not_byes() -> None:
    from passing_score.reports.report.charts import with_gaps

    traj = pl.DataFrame({"passer_id": ["a"] * 4, "team": ["KC"] * 4, "week": [1, 2, 5, 6],
                         "to_date": [80.0, 81.0, 82.0, 83.0], "passer_name": ["A"] * 4})
    team_weeks = pl.DataFrame({"team": ["KC"] * 5, "week": [1, 2, 4, 5, 6]})  # bye in week 3
    out = with_gaps(traj, team_weeks)
    assert out["week"].to_list() == [1, 2, 4, 5, 6] and out["to_date"][2] is None


def test_full_names_and_weighted_legend(tmp_path: Path) -> None:
    from passing_score.pipeline.foundation.warehouse import connect
    from passing_score.pipeline.ingest.players import write_players
    from passing_score.reports.report.charts import components_chart

    db = make_scored_warehouse(tmp_path / "w.duckdb")
    con = connect(db)
    write_players(con, pl.DataFrame({"gsis_id": [qb(0)], "full_name": ["Patrick Mahomes"],
                                     "short_name": ["P.Mahomes"], "first_season": [2017],
                                     "last_season": [2024]}), "test")
    html = report.render(con, SEASONS[-1])
    rows = query_pl(con, "SELECT * FROM qb_season_scores WHERE season = ? AND season_type = "
                         "'REG' AND qualified", [SEASONS[-1]])
    con.close()
    assert "Patrick Mahomes" in html
    weights = dict.fromkeys(COMPONENTS, 0.2) | {"sack": 0.0}
    shown = report.shown_components(SimpleNamespace(weights=weights))  # type: ignore[arg-type]
    assert "sack" not in shown and len(shown) == len(COMPONENTS) - 1
    fig = components_chart(rows, shown)
    assert [t.name for t in fig.data] == [*shown, "play value (vs league)"]

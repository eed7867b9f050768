"""Warehouse verbs: ingest, status, features."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from passing_score.pipeline.cli.app import (
    app,
    console,
    err_console,
    fail,
    progress_bars,
    say,
    stage_bars,
    state,
)
from passing_score.pipeline.foundation.errors import InputError, PassingScoreError


@app.command()
def ingest(
    source: Annotated[str, typer.Option(help="local | nflreadpy | nfl-data-py")] = "local",
    path: Annotated[Path | None, typer.Option(
        help="local: folder or file (default ../shared/nflverse/pbp, else data/raw); "
             "nfl-data-py: its cache folder")] = None,
    seasons: Annotated[str | None, typer.Option(help="e.g. 2019-2023 or 2021,2023")] = None,
    weeks: Annotated[str | None, typer.Option(
        help="e.g. 1-4; POST weeks follow REG as in game ids (2024: 19-22)")] = None,
    season_type: Annotated[str | None, typer.Option(
        "--season-type", help="REG, POST or ALL (default: ALL)")] = None,
) -> None:
    """Load play-by-play into `plays` (validated, per game, transactional, idempotent)."""
    from passing_score.pipeline import jobs

    try:
        with progress_bars() as prog:
            bars = stage_bars(prog)
            report = jobs.ingest(state.settings, source, path, seasons, weeks, season_type,
                                 on_batch=lambda d, t: bars(f"ingest ({source})", d, t))
        names = jobs.load_player_names(state.settings, source)
    except PassingScoreError as exc:
        fail(exc)
        return
    except OSError as exc:  # a path that cannot be listed or read (/proc, no permission)
        where = exc.filename if exc.filename is not None else (path or "the source")
        fail(InputError(f"--path {path if path is not None else where}: cannot be read "
                        f"({exc.strerror or type(exc).__name__}: {where})"))
        return
    loaded = [r for r in report.results if r.status == "loaded"]
    say(f"ingest: {len(report.results)} batches, {len(loaded)} loaded "
        f"({report.rows_written:,} plays in "
        f"{sum(r.games_written for r in loaded)} games written), "
        f"{sum(r.status == 'unchanged' for r in report.results)} unchanged, "
        f"{sum(r.status == 'no-match' for r in report.results)} outside the filter, "
        f"{len(report.rejected)} rejected")
    say(f"players: {names.note}")
    for r in report.rejected:
        err_console.print(f"[red]rejected:[/] {r.error}", highlight=False, soft_wrap=True)
    if report.rejected:
        raise typer.Exit(1)


@app.command()
def status() -> None:
    """What the warehouse holds: seasons, weeks, games, plays, dropbacks, models, last ingest."""
    from passing_score.pipeline.foundation.status import warehouse_status
    from passing_score.pipeline.foundation.warehouse import reading

    try:
        with reading(state.settings.db) as con:
            st = warehouse_status(con)
    except PassingScoreError as exc:
        fail(exc)
        return
    t = Table(title=f"warehouse {state.settings.db}")
    for col in ("season", "types", "REG weeks", "POST weeks", "games", "plays", "dropbacks"):
        t.add_column(col, justify="right")
    for s in st.seasons:
        t.add_row(str(s.season), s.season_types, s.reg_weeks, s.post_weeks, f"{s.games:,}",
                  f"{s.plays:,}", "-" if s.dropbacks is None else f"{s.dropbacks:,}")
    t.add_row("all", "", "", "", f"{st.total_games:,}", f"{st.total_plays:,}",
              "-" if not st.seasons or st.seasons[0].dropbacks is None
              else f"{sum(s.dropbacks or 0 for s in st.seasons):,}", style="bold")
    console.print(t)
    console.print(f"last ingest: {st.last_ingest or 'never'}"
                  + (f" ({st.last_ingest_key})" if st.last_ingest_key else "")
                  + f"; files/downloads logged: {st.files_logged}")
    console.print("model versions: " + (", ".join(st.model_versions) or "none"))


@app.command()
def features(full: Annotated[bool, typer.Option(
        "--full", help="rebuild every game (default: only games ingested since the last build)"
        )] = False) -> None:
    """Rebuild `dropbacks` from `plays` (incremental per game)."""
    from passing_score.pipeline import jobs

    try:
        with progress_bars() as prog:
            bars = stage_bars(prog)
            report = jobs.features(state.settings, full,
                                   on_progress=lambda d, t: bars("features", d, t))
    except PassingScoreError as exc:
        fail(exc)
        return
    say(f"features: {report.games_rebuilt} games rebuilt, {report.games_removed} "
        f"removed, {report.rows:,} dropbacks written ({report.rows_total:,} in table) "
        f"in {report.seconds:.1f} s")

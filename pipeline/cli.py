"""The `passing-score` command line: thin typer verbs that parse, call the library, print."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline.config import Settings, get_settings
from pipeline.errors import PassingScoreError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="NFL QB Passing Score: ingest, features, train, score, report.")
console = Console()
err_console = Console(stderr=True)


class State:
    """Options shared by every verb."""

    settings: Settings = Settings()


state = State()


@app.callback()
def main(db: Annotated[Path | None, typer.Option(
        "--db", help="Warehouse path (default data/warehouse.duckdb, or PASSING_SCORE_DB)",
        envvar="PASSING_SCORE_DB")] = None) -> None:
    """Passing Score pipeline; every verb reads the warehouse from --db or PASSING_SCORE_DB."""
    state.settings = get_settings(db=db)


def fail(exc: Exception) -> None:
    """Print one line and exit non-zero."""
    err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err_console, transient=False,
                    disable=not sys.stderr.isatty())


@app.command()
def ingest(
    source: Annotated[str, typer.Option(help="local | nflreadpy | nfl-data-py")] = "local",
    path: Annotated[Path | None, typer.Option(
        help="local: folder or file (default ../shared/nflverse/pbp, else data/raw); "
             "nfl-data-py: its cache folder")] = None,
    seasons: Annotated[str | None, typer.Option(help="e.g. 2019-2023 or 2021,2023")] = None,
    weeks: Annotated[str | None, typer.Option(
        help="e.g. 1-4; POST weeks follow REG as in game ids (2024: 19-22)")] = None,
    season_type: Annotated[str | None, typer.Option("--season-type", help="REG or POST")] = None,
) -> None:
    """Load play-by-play into `plays` (validated, per game, transactional, idempotent)."""
    from pipeline.ingest import PlayFilter
    from pipeline.ingest import ingest as run_ingest
    from pipeline.sources import make_source
    from pipeline.warehouse import connect

    try:
        flt = PlayFilter.parse(seasons, weeks, season_type)
        src = make_source(source, path, state.settings.default_pbp_path)
        batches = list(src.batches(flt.seasons))
        con = connect(state.settings.db)
        with _progress() as prog:
            task = prog.add_task(f"ingest ({source})", total=len(batches))
            report = run_ingest(con, src, flt, on_batch=lambda r: prog.advance(task),
                                batches=batches)
        con.close()
    except PassingScoreError as exc:
        fail(exc)
        return
    loaded = [r for r in report.results if r.status == "loaded"]
    console.print(f"ingest: {len(report.results)} batches, {len(loaded)} loaded "
                  f"({report.rows_written:,} plays in "
                  f"{sum(r.games_written for r in loaded)} games written), "
                  f"{sum(r.status == 'unchanged' for r in report.results)} unchanged, "
                  f"{sum(r.status == 'no-match' for r in report.results)} outside the filter, "
                  f"{len(report.rejected)} rejected")
    for r in report.rejected:
        err_console.print(f"[red]rejected:[/] {r.error}", highlight=False, soft_wrap=True)
    if report.rejected:
        raise typer.Exit(1)


@app.command()
def status() -> None:
    """What the warehouse holds: seasons, weeks, games, plays, dropbacks, models, last ingest."""
    from pipeline.status import warehouse_status
    from pipeline.warehouse import connect

    try:
        con = connect(state.settings.db, read_only=True)
        st = warehouse_status(con)
        con.close()
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
def run() -> None:
    """The whole job end to end on the default data (what `make run` calls)."""
    ingest(source="local", path=None, seasons=None, weeks=None, season_type=None)
    status()


def entry() -> None:
    """Console-script entry: known errors are one line; unexpected ones too, unless debugging."""
    import os

    try:
        app()
    except PassingScoreError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except Exception as exc:
        if os.environ.get("PASSING_SCORE_DEBUG"):
            raise
        err_console.print(f"[bold red]error:[/] unexpected {type(exc).__name__}: {exc} "
                          "(set PASSING_SCORE_DEBUG=1 for the traceback)",
                          highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    entry()

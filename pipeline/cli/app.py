"""The `passing-score` typer app: shared options, one-line errors, progress bars, the entry."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from passing_score.pipeline.foundation.config import Settings, get_settings
from passing_score.pipeline.foundation.errors import PassingScoreError

if TYPE_CHECKING:
    from passing_score.pipeline.jobs import Stage

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
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def say(text: str) -> None:
    """A summary line on stdout: one line whatever the width (no wrapping when piped, so logs
    stay greppable), no markup or highlighting."""
    console.print(text, soft_wrap=True, markup=False, highlight=False)


def progress_bars() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err_console, transient=False,
                    disable=not sys.stderr.isatty())


def stage_bars(prog: Progress) -> Stage:
    """A progress callback (stage, done, total) drawing one bar per stage."""
    tasks: dict[str, TaskID] = {}

    def on_stage(stage: str, done: int | None, total: int | None) -> None:
        if stage not in tasks:
            tasks[stage] = prog.add_task(stage, total=total)
        prog.update(tasks[stage], completed=done or 0, total=total)

    return on_stage


def entry() -> None:
    """Console-script entry: known errors are one line; unexpected ones too, unless debugging."""
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

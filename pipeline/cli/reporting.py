"""Report verbs: leaderboard, validate, report, serve."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from passing_score.pipeline.cli.app import (
    app,
    console,
    fail,
    state,
)
from passing_score.pipeline.foundation.errors import InputError, PassingScoreError


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _split_help() -> str:
    from passing_score.features.splits import SPLITS

    return "a football split of a season-to-date board: " + ", ".join(SPLITS)


@app.command()
def leaderboard(
    season: Annotated[int, typer.Option(help="season, e.g. 2024")],
    week: Annotated[int | None, typer.Option(
        help="the season through this week (season to date; default: all of it)")] = None,
    game_week: Annotated[int | None, typer.Option(
        "--game-week", help="only that week's games, ranked by game score")] = None,
    season_type: Annotated[str, typer.Option(
        "--season-type", help="REG, POST or ALL (both)")] = "REG",
    split: Annotated[str | None, typer.Option(help=_split_help())] = None,
    min_dropbacks: Annotated[int | None, typer.Option(
        "--min-dropbacks", help="default: the qualified threshold")] = None,
    team: Annotated[str | None, typer.Option(help="one team, e.g. KC")] = None,
    sort: Annotated[str | None, typer.Option(help="sort column (default: rank)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, json or parquet")] = "table",
    out: Annotated[Path | None, typer.Option(help="write the csv/json/parquet here")] = None,
    model_version: Annotated[str | None, typer.Option("--model-version")] = None,
) -> None:
    """Ranked QB Passing Scores: the season (through --week), one --game-week, or a --split.

    The table fits the terminal (rank, QB, team, dropbacks, score and interval first; the
    components when wide) and ends with a key; piped, it prints every column unwrapped."""
    from passing_score.pipeline.foundation.warehouse import reading
    from passing_score.reports.leaderboard.board import board
    from passing_score.reports.leaderboard.export import board_meta, export
    from passing_score.reports.leaderboard.terminal import board_title, render_board

    try:
        if fmt not in ("table", "csv", "json", "parquet"):
            raise InputError(f"--format {fmt!r}: use table, csv, json or parquet")
        if fmt == "table" and out is not None:
            raise InputError(f"--out {out}: the table is for the terminal; add --format csv, "
                             "json or parquet to write a file")
        with reading(state.settings.db) as con:
            df = board(con, season, week=week, game_week=game_week, season_type=season_type,
                       min_dropbacks=min_dropbacks, team=team, sort=sort,
                       model_version=model_version, split=split, surface="cli")
        meta = board_meta(df, season, season_type, week=week, game_week=game_week,
                          split=split, model_version=model_version)
        if fmt == "table":
            title = board_title(season, season_type, week=week, game_week=game_week,
                                split=split, model_version=meta.get("model_version"))
            width = console.width if sys.stdout.isatty() else None
            sys.stdout.write(render_board(df, title, width))
            return
        text = export(df, fmt, out, meta)
    except PassingScoreError as exc:
        fail(exc)
        return
    if text is not None:
        sys.stdout.write(text)
    else:
        console.print(f"wrote {out}", soft_wrap=True, highlight=False)


@app.command()
def validate(json_path: Annotated[Path | None, typer.Option("--json", help="write JSON here")
                                  ] = None,
             markdown: Annotated[Path | None, typer.Option(
                 "--markdown", help="write the tables into this file (docs/validity.md: "
                                    "between its validate markers)")] = None,
             protocol: Annotated[str, typer.Option(
                 help="rolling: every season scored by play models and an aggregator fitted "
                      "on earlier seasons only (trains what data/models lacks); in-sample: "
                      "the stored aggregator of a model version")] = "rolling",
             origins: Annotated[str | None, typer.Option(
                 help="rolling origin seasons, e.g. 2018-2024 (default: every season with "
                      "two before it)")] = None,
             boot: Annotated[int, typer.Option(help="bootstrap resamples of the CIs")] = 2000,
             model_version: Annotated[str | None, typer.Option(
                 "--model-version", help="with --protocol in-sample")] = None
             ) -> None:
    """Validity study: stability and predictiveness of the score against peer metrics."""
    from passing_score.pipeline import validation
    from passing_score.pipeline.ingest.load import parse_range
    from passing_score.reports.leaderboard.export import atomic_write
    from passing_score.reports.validity.markdown import (
        rolling_markdown,
        validity_markdown,
        write_markdown,
    )

    try:
        if boot < 0:
            raise InputError(f"--boot {boot}: use 0 or more resamples")
        seasons = parse_range(origins, "origins")
        with console.status("validate") as status:
            def say_stage(msg: str) -> None:
                status.update(f"validate: {msg}")

            result = validation.validate(state.settings, protocol, model_version, seasons,
                                         boot, progress=say_stage)
        text = (rolling_markdown(result) if protocol == "rolling"
                else validity_markdown(result))
        if json_path is not None:
            body = json.dumps(result, indent=2, default=str) + "\n"
            atomic_write(json_path, lambda tmp: _write_text(tmp, body))
        if markdown is not None:
            write_markdown(text, markdown)
    except PassingScoreError as exc:
        fail(exc)
        return
    console.print(text, markup=False, highlight=False)
    for written in (json_path, markdown):
        if written is not None:
            console.print(f"wrote {written}")


@app.command()
def report(
    season: Annotated[int, typer.Option(help="season of the report")],
    out: Annotated[Path, typer.Option(help="HTML file to write")],
    compare: Annotated[int | None, typer.Option(help="a second season to compare")] = None,
    qbs: Annotated[str | None, typer.Option(help="passer ids to highlight, comma separated")
                   ] = None,
    model_version: Annotated[str | None, typer.Option("--model-version")] = None,
) -> None:
    """Season-end comparison report: a self-contained HTML file with charts."""
    from passing_score.pipeline.foundation.warehouse import reading
    from passing_score.reports.report.render import build_report

    try:
        with reading(state.settings.db) as con:
            path = build_report(con, season, out, compare=compare,
                                qbs=[q.strip() for q in qbs.split(",")] if qbs else None,
                                model_version=model_version)
    except PassingScoreError as exc:
        fail(exc)
        return
    console.print(f"wrote {path}")


@app.command()
def serve(host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="port")] = 8000,
          workers: Annotated[int, typer.Option(
              help="worker processes sharing the port (each keeps its own snapshot and "
                   "answer cache; docs/deploy.md)")] = 1) -> None:
    """The web leaderboard at / and the read-only broadcaster API (OpenAPI at /docs); both
    work offline."""
    from passing_score.reports.api.app import serve as run_api

    try:
        run_api(host=host, port=port, db=state.settings.db, workers=workers)
    except PassingScoreError as exc:
        fail(exc)


@app.command()
def export(out: Annotated[Path, typer.Option(help="folder for the parquet files")]) -> None:
    """The served tables (scores, predictions, weights, game status) as parquet files, for
    DuckDB over object storage, Spark or Trino (docs/deploy.md)."""
    from passing_score.pipeline.foundation.warehouse import reading
    from passing_score.reports.published import export_tables

    try:
        with reading(state.settings.db) as con:
            rows = export_tables(con, out)
    except PassingScoreError as exc:
        fail(exc)
        return
    console.print(f"exported {len(rows)} tables to {out}: "
                  + ", ".join(f"{t} {n:,}" for t, n in rows.items()))

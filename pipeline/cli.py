"""The `passing-score` command line: thin typer verbs that parse, call the library, print."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from pipeline.config import Settings, get_settings
from pipeline.errors import InputError, PassingScoreError

if TYPE_CHECKING:
    from pipeline.jobs import Stage

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
def features(full: Annotated[bool, typer.Option(
        "--full", help="rebuild every game (default: only games ingested since the last build)"
        )] = False) -> None:
    """Rebuild `dropbacks` from `plays` (incremental per game)."""
    from features.build import build_dropbacks
    from pipeline.warehouse import connect

    try:
        con = connect(state.settings.db)
        with _progress() as prog:
            task = prog.add_task("features", total=None)
            report = build_dropbacks(con, full=full,
                                     on_progress=lambda d, t: prog.update(task, completed=d,
                                                                          total=t))
        con.close()
    except PassingScoreError as exc:
        fail(exc)
        return
    console.print(f"features: {report.games_rebuilt} games rebuilt, {report.games_removed} "
                  f"removed, {report.rows:,} dropbacks written ({report.rows_total:,} in table) "
                  f"in {report.seconds:.1f} s")


@app.command()
def train(
    train_seasons: Annotated[str | None, typer.Option(
        "--train-seasons", help="e.g. 2016-2023; the last season validates (early stopping, "
        "model selection). Default: every season before the newest")] = None,
    holdout_season: Annotated[int | None, typer.Option(
        "--holdout-season", help="a season to keep out (default: the newest)")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    baselines: Annotated[bool, typer.Option(
        help="also fit the comparison baselines now (else `evaluate` fits them once)")] = False,
) -> None:
    """Fit the play models; save a versioned artifact under data/models/."""
    from models.training import available_seasons, train_models
    from pipeline.ingest import parse_range
    from pipeline.warehouse import connect

    try:
        con = connect(state.settings.db, read_only=True)
        have = available_seasons(con)
        seasons = parse_range(train_seasons, "train-seasons")
        if seasons is None:
            hold = holdout_season if holdout_season is not None else max(have)
            seasons = [s for s in have if s < hold]
        elif holdout_season is not None and holdout_season in seasons:
            raise InputError(f"--holdout-season {holdout_season} is inside --train-seasons")
        with _progress() as prog:
            task = prog.add_task("train", total=None)
            path = train_models(con, seasons, state.settings.models_dir, seed, baselines,
                                progress=lambda n: prog.update(task, description=f"train: {n}"))
        con.close()
    except PassingScoreError as exc:
        fail(exc)
        return
    console.print(f"model saved: {path}")


@app.command()
def evaluate(
    holdout_season: Annotated[int, typer.Option("--holdout-season", help="season to score")],
    json_path: Annotated[Path | None, typer.Option("--json", help="write the metrics here")
                         ] = None,
    seed: Annotated[int, typer.Option(help="random seed when training is needed")] = 0,
) -> None:
    """Held-out metrics of every play model and its baselines on one season."""
    from models.training import evaluate as run_eval
    from models.training import write_json
    from pipeline.warehouse import connect
    from reports.model_table import print_evaluation

    try:
        con = connect(state.settings.db, read_only=True)
        with _progress() as prog:
            task = prog.add_task("evaluate", total=None)
            result = run_eval(con, holdout_season, state.settings.models_dir, seed,
                              progress=lambda n: prog.update(task, description=n))
        con.close()
    except PassingScoreError as exc:
        fail(exc)
        return
    print_evaluation(result, console)
    if json_path is not None:
        write_json(result, json_path)
        console.print(f"wrote {json_path}")


@app.command()
def score(
    model_version: Annotated[str | None, typer.Option(
        "--model-version", help="default: the newest trained model")] = None,
    full: Annotated[bool, typer.Option("--full", help="re-predict every game")] = False,
    season: Annotated[int | None, typer.Option(
        help="rescore only this season's rows (the weekly job)")] = None,
    week: Annotated[int | None, typer.Option(help="with --season: only this week's games")
                    ] = None,
) -> None:
    """Fill play_predictions (new or rebuilt games) and the QB game and season scores, in one
    transaction (a crash leaves the previous scores)."""
    from pipeline.jobs import frozen_model, score_all
    from pipeline.warehouse import connect

    try:
        art = frozen_model(state.settings, model_version)
        con = connect(state.settings.db)
        try:
            with _progress() as prog:
                sc = score_all(con, art, full, season, week, on_stage=_stage_bars(prog))
        finally:
            con.close()
    except PassingScoreError as exc:
        fail(exc)
        return
    console.print(f"score: model {sc.model_version}: {sc.games_predicted} games predicted "
                  f"({sc.rows_predicted:,} dropbacks); {sc.game_rows:,} game scores, "
                  f"{sc.season_rows:,} season scores")


def _stage_bars(prog: Progress) -> Stage:
    """A progress callback (stage, done, total) drawing one bar per stage."""
    tasks: dict[str, TaskID] = {}

    def on_stage(stage: str, done: int | None, total: int | None) -> None:
        if stage not in tasks:
            tasks[stage] = prog.add_task(stage, total=total)
        prog.update(tasks[stage], completed=done or 0, total=total)

    return on_stage


@app.command()
def leaderboard(
    season: Annotated[int, typer.Option(help="season, e.g. 2024")],
    week: Annotated[int | None, typer.Option(help="season to date through this week")] = None,
    game_week: Annotated[int | None, typer.Option(
        "--game-week", help="only that week's games, ranked by game score")] = None,
    season_type: Annotated[str, typer.Option("--season-type", help="REG, POST or ALL")] = "REG",
    split: Annotated[str | None, typer.Option(help="a football split (see docs/scoring.md)")
                     ] = None,
    min_dropbacks: Annotated[int | None, typer.Option(
        "--min-dropbacks", help="default: the qualified threshold")] = None,
    team: Annotated[str | None, typer.Option(help="one team, e.g. KC")] = None,
    sort: Annotated[str | None, typer.Option(help="sort column (default: rank)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, json or parquet")] = "table",
    out: Annotated[Path | None, typer.Option(help="write the csv/json/parquet here")] = None,
    model_version: Annotated[str | None, typer.Option("--model-version")] = None,
) -> None:
    """Ranked QB Passing Scores for a season, a week or a split."""
    from pipeline.warehouse import connect
    from reports.leaderboard import board, board_meta, board_title, export, rich_table

    try:
        if fmt not in ("table", "csv", "json", "parquet"):
            raise InputError(f"--format {fmt!r}: use table, csv, json or parquet")
        if fmt == "table" and out is not None:
            raise InputError(f"--out {out}: the table is for the terminal; add --format csv, "
                             "json or parquet to write a file")
        con = connect(state.settings.db, read_only=True)
        df = board(con, season, week=game_week, through_week=week, season_type=season_type,
                   min_dropbacks=min_dropbacks, team=team, sort=sort,
                   model_version=model_version, split=split)
        meta = board_meta(df, season, season_type, week=week or game_week,
                          model_version=model_version)
        con.close()
        if fmt == "table":
            console.print(rich_table(df, board_title(season, season_type, week=game_week,
                                                     through_week=week, split=split,
                                                     model_version=meta.get("model_version"))))
            return
        text = export(df, fmt, out, meta)
    except PassingScoreError as exc:
        fail(exc)
        return
    if text is not None:
        sys.stdout.write(text)
    else:
        console.print(f"wrote {out}")


@app.command()
def validate(json_path: Annotated[Path | None, typer.Option("--json", help="write JSON here")
                                  ] = None,
             markdown: Annotated[Path | None, typer.Option(
                 "--markdown", help="write the comparison table (docs/validity.md)")] = None,
             model_version: Annotated[str | None, typer.Option("--model-version")] = None
             ) -> None:
    """Validity study: stability and predictiveness of the score against peer metrics."""
    import json

    from pipeline.validity import validity_markdown, validity_study, write_validity_markdown
    from pipeline.warehouse import connect

    try:
        con = connect(state.settings.db, read_only=True)
        result = validity_study(con, model_version)
        con.close()
    except PassingScoreError as exc:
        fail(exc)
        return
    console.print(validity_markdown(result), markup=False, highlight=False)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, indent=2, default=str) + "\n")
        console.print(f"wrote {json_path}")
    if markdown is not None:
        write_validity_markdown(result, markdown)
        console.print(f"wrote {markdown}")


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
    from pipeline.warehouse import connect
    from reports.report import build_report

    try:
        con = connect(state.settings.db, read_only=True)
        path = build_report(con, season, out, compare=compare,
                            qbs=[q.strip() for q in qbs.split(",")] if qbs else None,
                            model_version=model_version)
        con.close()
    except PassingScoreError as exc:
        fail(exc)
        return
    console.print(f"wrote {path}")


@app.command()
def serve(host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="port")] = 8000) -> None:
    """The read-only broadcaster API (OpenAPI at /docs)."""
    from reports.api import serve as run_api

    if not state.settings.db.exists():
        fail(InputError(f"warehouse {state.settings.db} does not exist: run `make run` first"))
    run_api(host=host, port=port, db=state.settings.db)


@app.command()
def update(
    season: Annotated[int, typer.Option(help="season of the week")],
    week: Annotated[int, typer.Option(help="week (POST continues REG numbering)")],
    source: Annotated[str, typer.Option(help="local | nflreadpy | nfl-data-py")] = "local",
    path: Annotated[Path | None, typer.Option(help="folder or file (local)")] = None,
) -> None:
    """The weekly job: ingest that week, rebuild its features, score with the frozen model and
    refresh the aggregates as one transaction (all or nothing), then print the new board."""
    from pipeline.jobs import weekly_update

    try:
        with _progress() as prog:
            up = weekly_update(state.settings, season, week, source, path,
                               on_stage=_stage_bars(prog))
    except PassingScoreError as exc:
        fail(exc)
        return
    loaded = sum(r.games_written for r in up.ingest.results if r.status == "loaded")
    console.print(f"update {season} week {week}: {up.ingest.rows_written:,} plays in {loaded} "
                  f"games written, {up.games_rebuilt} games featurized "
                  f"({up.dropbacks_written:,} dropbacks), {up.score.games_predicted} games "
                  f"predicted, {up.score.game_rows:,} game scores with model "
                  f"{up.score.model_version} in {up.seconds:.1f} s")
    leaderboard(season=season, week=week, game_week=None, season_type="REG" if week <= 18
                else "POST", split=None, min_dropbacks=None, team=None, sort=None, fmt="table",
                out=None, model_version=None)


@app.command()
def run(holdout_season: Annotated[int | None, typer.Option(
        "--holdout-season", help="season kept out of training (default: the newest)")] = None
        ) -> None:
    """The whole job end to end on the default data (what `make run` calls): ingest, features,
    train (once per data and code version), score, then the current board, an export and the
    season report."""
    from models import artifact

    ingest(source="local", path=None, seasons=None, weeks=None, season_type=None)
    features(full=False)
    try:
        artifact.resolve(state.settings.models_dir)
    except PassingScoreError:
        train(train_seasons=None, holdout_season=holdout_season, seed=0, baselines=False)
    score(model_version=None, full=False, season=None, week=None)
    status()
    newest = _newest_scored_season()
    exports = state.settings.data_dir / "exports"
    leaderboard(season=newest, week=None, game_week=None, season_type="REG", split=None,
                min_dropbacks=None, team=None, sort=None, fmt="table", out=None,
                model_version=None)
    leaderboard(season=newest, week=None, game_week=None, season_type="REG", split=None,
                min_dropbacks=None, team=None, sort=None, fmt="csv",
                out=exports / f"leaderboard_{newest}.csv", model_version=None)
    report(season=newest, out=state.settings.data_dir / "reports" / f"season_{newest}.html",
           compare=newest - 1, qbs=None, model_version=None)


def _newest_scored_season() -> int:
    from pipeline.warehouse import connect, fetch_one

    con = connect(state.settings.db, read_only=True)
    row = fetch_one(con, "SELECT max(season) FROM qb_season_scores")
    con.close()
    if not row or row[0] is None:
        fail(InputError("no scores in the warehouse: `passing-score score` produced nothing"))
    return int(row[0])  # type: ignore[index]


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

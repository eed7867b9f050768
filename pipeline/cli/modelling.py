"""Model verbs: train, evaluate, score, the weekly update and the end-to-end run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from passing_score.pipeline.cli.app import (
    app,
    console,
    fail,
    progress_bars,
    say,
    stage_bars,
    state,
)
from passing_score.pipeline.cli.data import features, ingest, status
from passing_score.pipeline.cli.reporting import leaderboard, report
from passing_score.pipeline.foundation.errors import InputError, PassingScoreError
from passing_score.pipeline.foundation.vocabulary import week_season_type


@app.command()
def train(
    train_seasons: Annotated[str | None, typer.Option(
        "--train-seasons", help="e.g. 2016-2024; iterations / epochs and calibration are "
        "chosen on the last season with a fit on the others, then every model is refitted "
        "on all of them. Default: every completed season (one with postseason games)")] = None,
    holdout_season: Annotated[int | None, typer.Option(
        "--holdout-season", help="keep this season and later ones out (for evaluation)")
                              ] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    baselines: Annotated[bool, typer.Option(
        help="also fit the comparison baselines now (else `evaluate` fits them once)")] = False,
) -> None:
    """Fit the production play models; save a versioned artifact under data/models/."""
    from passing_score.pipeline import jobs

    try:
        with progress_bars() as prog:
            task = prog.add_task("train", total=None)
            path = jobs.train(state.settings, train_seasons, holdout_season, seed, baselines,
                              progress=lambda n: prog.update(task, description=f"train: {n}"))
    except PassingScoreError as exc:
        fail(exc)
        return
    console.print(f"model saved: {path}")


@app.command()
def evaluate(
    holdout_season: Annotated[int | None, typer.Option(
        "--holdout-season", help="season to score")] = None,
    rolling: Annotated[str | None, typer.Option(
        "--rolling", help="e.g. 2020-2024: each season predicted by models trained through "
        "the season before (ours and every baseline), plus a pooled row")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="write the metrics here")
                         ] = None,
    markdown: Annotated[Path | None, typer.Option(
        "--markdown", help="with --rolling: write the tables into this markdown file between "
        "its <!-- rolling:begin --> and <!-- rolling:end --> lines")] = None,
    seed: Annotated[int, typer.Option(help="random seed when training is needed")] = 0,
) -> None:
    """Held-out metrics of every play model and its baselines on one season, or on each
    season of a rolling-origin range."""
    from passing_score.models.training import write_json
    from passing_score.pipeline import jobs
    from passing_score.pipeline.ingest.load import parse_range
    from passing_score.reports.model_rolling import print_rolling, write_markdown
    from passing_score.reports.model_table import print_evaluation

    try:
        if (holdout_season is None) == (rolling is None):
            raise InputError("give exactly one of --holdout-season and --rolling")
        if markdown is not None and rolling is None:
            raise InputError("--markdown goes with --rolling")
        with progress_bars() as prog:
            task = prog.add_task("evaluate", total=None)
            if rolling is not None:
                result = jobs.evaluate_rolling(
                    state.settings, parse_range(rolling, "rolling") or [], seed,
                    progress=lambda n: prog.update(task, description=n))
            else:
                assert holdout_season is not None
                result = jobs.evaluate(state.settings, holdout_season, seed,
                                       progress=lambda n: prog.update(task, description=n))
        if json_path is not None:
            write_json(result, json_path)
        if markdown is not None:
            write_markdown(result, markdown)
    except PassingScoreError as exc:
        fail(exc)
        return
    if rolling is not None:
        print_rolling(result, console)
    else:
        print_evaluation(result, console)
    for what, path in (("metrics", json_path), ("tables", markdown)):
        if path is not None:
            console.print(f"wrote {what} to {path}")


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
    from passing_score.pipeline import jobs

    try:
        with progress_bars() as prog:
            sc = jobs.score(state.settings, model_version, full, season, week,
                            on_stage=stage_bars(prog))
    except PassingScoreError as exc:
        fail(exc)
        return
    say(f"score: model {sc.model_version}: {sc.games_predicted} games predicted "
                  f"({sc.rows_predicted:,} dropbacks); {sc.game_rows:,} game scores, "
                  f"{sc.season_rows:,} season scores")


@app.command()
def update(
    season: Annotated[int | None, typer.Option(help="season of the week")] = None,
    week: Annotated[int | None, typer.Option(help="week (POST continues REG numbering)")] = None,
    game: Annotated[str | None, typer.Option(
        help="re-score one game (e.g. a game in progress) from its play-by-play file")] = None,
    source: Annotated[str, typer.Option(help="local | nflreadpy | nfl-data-py")] = "local",
    path: Annotated[Path | None, typer.Option(help="folder or file (local)")] = None,
) -> None:
    """The weekly job: ingest that week, rebuild its features, score with the frozen model and
    refresh the aggregates as one transaction (all or nothing), then print the new board.
    With --game, the same for one game: a partial file scores a game in progress (marked not
    final until a file with its last play arrives)."""
    from passing_score.pipeline import jobs

    try:
        if game is not None:
            if season is not None or week is not None:
                raise InputError("--game names its season and week: drop --season/--week")
            season, week = jobs.game_week(game)
        elif season is None or week is None:
            raise InputError("update needs --season and --week (or --game GAME_ID)")
        with progress_bars() as prog:
            up = jobs.weekly_update(state.settings, season, week, source, path,
                                    on_stage=stage_bars(prog), game=game)
    except PassingScoreError as exc:
        fail(exc)
        return
    loaded = sum(r.games_written for r in up.ingest.results if r.status == "loaded")
    what = f"game {game}" if game else f"{season} week {week}"
    say(f"update {what}: {up.ingest.rows_written:,} plays in {loaded} "
                  f"games written, {up.games_rebuilt} games featurized "
                  f"({up.dropbacks_written:,} dropbacks), {up.score.games_predicted} games "
                  f"predicted, {up.score.game_rows:,} game scores with model "
                  f"{up.score.model_version} in {up.seconds:.1f} s")
    if game is not None:
        return
    leaderboard(season=season, week=week, game_week=None,
                season_type=week_season_type(season, week), split=None, min_dropbacks=None,
                team=None, sort=None, fmt="table", out=None, model_version=None)


@app.command()
def run(holdout_season: Annotated[int | None, typer.Option(
        "--holdout-season", help="keep this season and later ones out of training (default: "
        "train on every completed season)")] = None
        ) -> None:
    """The whole job end to end on the default data (what `make run` calls): ingest, features,
    train (once per data and code version), score, then the current board, an export and the
    season report."""
    from passing_score.pipeline import jobs

    ingest(source="local", path=None, seasons=None, weeks=None, season_type=None)
    features(full=False)
    try:
        retrain = jobs.needs_training(state.settings, holdout_season)
    except PassingScoreError as exc:
        fail(exc)
        return
    if retrain:
        train(train_seasons=None, holdout_season=holdout_season, seed=0, baselines=False)
    else:
        console.print("train: a model for this data and code version exists, kept")
    score(model_version=None, full=False, season=None, week=None)
    status()
    try:
        newest = jobs.newest_scored_season(state.settings)
    except PassingScoreError as exc:
        fail(exc)
        return
    exports = state.settings.data_dir / "exports"
    leaderboard(season=newest, week=None, game_week=None, season_type="REG", split=None,
                min_dropbacks=None, team=None, sort=None, fmt="table", out=None,
                model_version=None)
    leaderboard(season=newest, week=None, game_week=None, season_type="REG", split=None,
                min_dropbacks=None, team=None, sort=None, fmt="csv",
                out=exports / f"leaderboard_{newest}.csv", model_version=None)
    report(season=newest, out=state.settings.data_dir / "reports" / f"season_{newest}.html",
           compare=newest - 1, qbs=None, model_version=None)

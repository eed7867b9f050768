"""Ingestion: sources, validation at the door, idempotent per-game transactional writes."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from passing_score.pipeline.foundation.errors import InputError, SourceError, ValidationError
from passing_score.pipeline.foundation.warehouse import connect, query_pl
from passing_score.pipeline.ingest.load import PlayFilter, ingest, parse_range
from passing_score.pipeline.ingest.sources import (
    LocalSource,
    NflDataPySource,
    NflreadpySource,
    read_pbp_file,
)
from passing_score.pipeline.ingest.validate import validate_plays
from tests.factories.pbp import make_pbp


def write_files(df: pl.DataFrame, folder: Path) -> None:
    """Spread a frame over files the way users mix them: a week parquet, game csv / csv.gz."""
    folder.mkdir(parents=True, exist_ok=True)
    games = df["game_id"].unique().sort().to_list()
    week1 = df.filter(pl.col("week") == df["week"].min())
    week1.write_parquet(folder / "week_1.parquet")
    rest = [g for g in games if g not in set(week1["game_id"].to_list())]
    for i, g in enumerate(rest):
        part = df.filter(pl.col("game_id") == g)
        if i % 2 == 0:
            part.write_csv(folder / f"{g}.csv")
        else:
            with gzip.open(folder / f"{g}.csv.gz", "wb") as f:
                part.write_csv(f)


def plays_snapshot(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Source columns of all stored plays, ordered, for equality checks."""
    return query_pl(con, "SELECT * EXCLUDE (source, source_key, ingested_at) FROM plays "
                         "ORDER BY game_id, play_id")


def test_parse_range() -> None:
    assert parse_range("2019-2021", "seasons") == [2019, 2020, 2021]
    assert parse_range("2019,2021", "seasons") == [2019, 2021]
    assert parse_range(None, "seasons") is None
    with pytest.raises(InputError, match="--weeks"):
        parse_range("4-1", "weeks")
    with pytest.raises(InputError, match="--seasons 'abc'"):
        parse_range("abc", "seasons")


def test_mixed_files_load_everything(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    df = make_pbp(weeks=(1, 2, 3))
    write_files(df, tmp_path / "pbp")
    report = ingest(con, LocalSource(tmp_path / "pbp"), PlayFilter())
    assert not report.rejected
    n, g = con.execute("SELECT count(*), count(DISTINCT game_id) FROM plays").fetchall()[0]
    assert (n, g) == (df.height, df["game_id"].n_unique())
    stored = plays_snapshot(con)
    # every source column is kept, values equal whatever the file format was
    assert set(df.columns) <= set(stored.columns)
    expected = df.sort("game_id", "play_id")
    for col in ("down", "air_yards", "epa", "passer_player_id", "desc", "cp"):
        assert stored[col].to_list() == expected[col].to_list(), col


def test_same_files_twice_is_a_no_op(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    write_files(make_pbp(), tmp_path / "pbp")
    ingest(con, LocalSource(tmp_path / "pbp"), PlayFilter())
    before = query_pl(con, "SELECT * FROM plays ORDER BY game_id, play_id")
    log_before = query_pl(con, "SELECT * FROM ingest_log ORDER BY path_or_key")
    report = ingest(con, LocalSource(tmp_path / "pbp"), PlayFilter())
    assert {r.status for r in report.results} == {"unchanged"}
    assert query_pl(con, "SELECT * FROM plays ORDER BY game_id, play_id").equals(before)
    assert query_pl(con, "SELECT * FROM ingest_log ORDER BY path_or_key").equals(log_before)


def test_same_plays_as_csv_are_not_a_change(tmp_path: Path,
                                             con: duckdb.DuckDBPyConnection) -> None:
    """The per-game content hash does not depend on the file format: the same plays
    re-published as CSV (types inferred from text, columns in another order) rewrite nothing."""
    df = make_pbp()
    df.write_parquet(tmp_path / "season.parquet")
    assert ingest(con, LocalSource(tmp_path / "season.parquet"), PlayFilter()).results[0] \
        .games_written == df["game_id"].n_unique()
    before = query_pl(con, "SELECT * FROM plays ORDER BY game_id, play_id")
    df.select(sorted(df.columns, reverse=True)).write_csv(tmp_path / "season.csv")
    report = ingest(con, LocalSource(tmp_path / "season.csv"), PlayFilter())
    assert report.results[0].status == "unchanged"
    assert report.results[0].games_written == 0
    assert query_pl(con, "SELECT * FROM plays ORDER BY game_id, play_id").equals(before)
    # one changed play in the CSV is still a change, of that game only
    game = df["game_id"][0]
    df.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("corrected"))
                    .otherwise(pl.col("desc")).alias("desc")).write_csv(tmp_path / "fix.csv")
    again = ingest(con, LocalSource(tmp_path / "fix.csv"), PlayFilter())
    assert again.results[0].games_written == 1
    assert con.execute("SELECT game_id FROM plays WHERE \"desc\" = 'corrected'").fetchall() \
        == [(game,)]


def test_corrected_republication_replaces_only_that_game(
        tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    df = make_pbp()
    df.write_parquet(tmp_path / "season.parquet")
    ingest(con, LocalSource(tmp_path / "season.parquet"), PlayFilter())
    stamps = dict(con.execute("SELECT game_id, max(ingested_at) FROM plays GROUP BY 1").fetchall())
    game = df["game_id"][0]
    fixed = df.filter(pl.col("game_id") == game).with_columns(
        pl.when(pl.col("play_id") == pl.col("play_id").min()).then(pl.lit("corrected"))
        .otherwise(pl.col("desc")).alias("desc")
    ).head(40)  # the corrected feed also dropped plays
    fixed.write_parquet(tmp_path / f"{game}.parquet")
    report = ingest(con, LocalSource(tmp_path / f"{game}.parquet"), PlayFilter())
    assert report.results[0].games_written == 1
    got = query_pl(con, "SELECT * FROM plays WHERE game_id = ? ORDER BY play_id", [game])
    assert got.height == 40 and got["desc"][0] == "corrected"
    after = dict(con.execute("SELECT game_id, max(ingested_at) FROM plays GROUP BY 1").fetchall())
    assert all(after[g] == stamps[g] for g in stamps if g != game)
    total = con.execute("SELECT count(*) FROM plays").fetchall()[0][0]
    assert total == df.height - df.filter(pl.col("game_id") == game).height + 40


def test_partial_week_then_full_week(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    df = make_pbp(weeks=(1,))
    games = df["game_id"].unique().sort().to_list()
    # mid-week: two games finished, one in progress (first half only)
    partial = pl.concat([df.filter(pl.col("game_id").is_in(games[:2])),
                         df.filter(pl.col("game_id") == games[2]).head(30)])
    partial.write_parquet(tmp_path / "week.parquet")
    ingest(con, LocalSource(tmp_path / "week.parquet"), PlayFilter())
    assert con.execute("SELECT count(*) FROM plays").fetchall()[0][0] == partial.height
    df.write_parquet(tmp_path / "week.parquet")
    ingest(con, LocalSource(tmp_path / "week.parquet"), PlayFilter())
    assert plays_snapshot(con).select(df.columns).equals(df.sort("game_id", "play_id"))


def test_filters(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    reg = make_pbp(season=2030, weeks=(1, 2, 3))
    post = make_pbp(season=2030, weeks=(19,), season_type="POST", seed=3)
    other = make_pbp(season=2031, weeks=(1,), seed=4)
    pl.concat([reg, post]).write_parquet(tmp_path / "s2030.parquet")
    other.write_parquet(tmp_path / "s2031.parquet")
    ingest(con, LocalSource(tmp_path), PlayFilter.parse("2030", "2-3,19", None))
    got = con.execute("SELECT DISTINCT season, game_week, season_type FROM plays ORDER BY 2"
                      ).fetchall()
    assert got == [(2030, 2, "REG"), (2030, 3, "REG"), (2030, 19, "POST")]
    ingest(con, LocalSource(tmp_path), PlayFilter.parse(None, None, "POST"))
    with pytest.raises(InputError):
        PlayFilter.parse(None, None, "PRE")


def _bad(df: pl.DataFrame, case: str) -> tuple[pl.DataFrame, str, str]:
    """A corrupted copy of df, the column the error must name and a fragment of the reason."""
    i = 7
    if case == "missing":
        return df.drop("ydstogo"), "ydstogo", "missing"
    if case == "down5":
        return df.with_columns(pl.when(pl.int_range(pl.len()) == i).then(5)
                               .otherwise(pl.col("down")).alias("down")), "down", "row 8"
    if case == "neg_ydstogo":
        return df.with_columns(pl.when(pl.int_range(pl.len()) == i).then(-3)
                               .otherwise(pl.col("ydstogo")).alias("ydstogo")), "ydstogo", "row 8"
    if case == "season":
        return df.with_columns(pl.when(pl.int_range(pl.len()) == i).then(2031)
                               .otherwise(pl.col("season")).alias("season")), "season", "row 8"
    if case == "week":
        return df.with_columns(pl.when(pl.int_range(pl.len()) == i).then(5)
                               .otherwise(pl.col("week")).alias("week")), "week", "row 8"
    if case == "duplicate":
        return pl.concat([df.head(i), df.slice(i - 1, 1), df.slice(i)]), "play_id", "duplicate"
    if case == "text_in_numbers":
        return df.with_columns(pl.col("yardline_100").cast(pl.String).fill_null("")
                               .map_elements(lambda v: v, return_dtype=pl.String))\
            .with_columns(pl.when(pl.int_range(pl.len()) == i).then(pl.lit("midfield"))
                          .otherwise(pl.col("yardline_100")).alias("yardline_100")), \
            "yardline_100", "'midfield'"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["missing", "down5", "neg_ydstogo", "season", "week",
                                  "duplicate", "text_in_numbers"])
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_bad_file_rejected_others_load(tmp_path: Path, con: duckdb.DuckDBPyConnection,
                                       case: str, fmt: str) -> None:
    good = make_pbp(weeks=(1,))
    bad_src = make_pbp(weeks=(2,), seed=9)
    bad, column, fragment = _bad(bad_src, case)
    folder = tmp_path / "pbp"
    folder.mkdir()
    good.write_parquet(folder / "a_good.parquet")
    path = folder / f"b_bad.{fmt}"
    bad.write_parquet(path) if fmt == "parquet" else bad.write_csv(path)
    report = ingest(con, LocalSource(folder), PlayFilter())
    assert [r.status for r in report.results] == ["loaded", "rejected"]
    msg = report.rejected[0].error or ""
    assert "\n" not in msg and str(path.resolve()) in msg
    assert f"column '{column}'" in msg and fragment in msg
    weeks = {w for (w,) in con.execute("SELECT DISTINCT week FROM plays").fetchall()}
    assert weeks == {1}  # nothing of the bad file reached the warehouse


@pytest.mark.parametrize("kind", ["truncated_parquet", "garbage_csv_gz", "empty_csv"])
def test_corrupt_files_are_one_line_errors(tmp_path: Path, kind: str) -> None:
    df = make_pbp(weeks=(1,))
    if kind == "truncated_parquet":
        p = tmp_path / "t.parquet"
        df.write_parquet(p)
        p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    elif kind == "garbage_csv_gz":
        p = tmp_path / "t.csv.gz"
        p.write_bytes(gzip.compress(df.write_csv().encode())[:500])
    else:
        p = tmp_path / "t.csv"
        p.write_text("")
    with pytest.raises(ValidationError) as e:
        validate_plays(read_pbp_file(p), str(p))
    assert str(p) in str(e.value) and "\n" not in str(e.value)


def test_crash_mid_write_keeps_previous_state(tmp_path: Path, con: duckdb.DuckDBPyConnection,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    df = make_pbp()
    df.write_parquet(tmp_path / "s.parquet")
    ingest(con, LocalSource(tmp_path / "s.parquet"), PlayFilter())
    before = query_pl(con, "SELECT * FROM plays ORDER BY game_id, play_id")
    changed = df.with_columns(pl.col("epa") + 1)
    changed.write_parquet(tmp_path / "s.parquet")
    import passing_score.pipeline.foundation.warehouse as wh

    real_unregister = con.unregister

    def boom(name: str) -> None:  # fails after DELETE and INSERT ran inside the transaction
        real_unregister(name)
        raise RuntimeError("power cut")

    monkeypatch.setattr(wh.duckdb.DuckDBPyConnection, "unregister", lambda self, n: boom(n),
                        raising=False)
    with pytest.raises(RuntimeError):
        ingest(con, LocalSource(tmp_path / "s.parquet"), PlayFilter())
    monkeypatch.undo()
    assert query_pl(con, "SELECT * FROM plays ORDER BY game_id, play_id").equals(before)


def test_kill_during_ingest_leaves_last_good_state(tmp_path: Path) -> None:
    """A process killed -9 mid-ingest: the warehouse opens at its last committed state."""
    db = tmp_path / "w.duckdb"
    folder = tmp_path / "pbp"
    folder.mkdir()
    make_pbp(weeks=(1,)).write_parquet(folder / "w1.parquet")
    con = connect(db)
    ingest(con, LocalSource(folder), PlayFilter())
    before = query_pl(con, "SELECT * EXCLUDE (ingested_at) FROM plays ORDER BY game_id, play_id")
    con.close()
    for w in range(2, 12):
        make_pbp(weeks=(w,), seed=w, plays_per_game=400).write_parquet(folder / f"w{w}.parquet")
    env = {**os.environ, "PASSING_SCORE_DB": str(db)}
    proc = subprocess.Popen([sys.executable, "-m", "passing_score.pipeline.cli", "ingest", "--path",
                             str(folder)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    # kill as soon as the process has started writing (the WAL appears), else after 3 s
    import time

    deadline = time.time() + 3
    while time.time() < deadline and not Path(str(db) + ".wal").exists():
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    con = connect(db)
    after = query_pl(con, "SELECT * EXCLUDE (ingested_at) FROM plays ORDER BY game_id, play_id")
    weeks = {w for (w,) in con.execute("SELECT DISTINCT week FROM plays").fetchall()}
    # whole files only: each week is either fully there or absent
    for w in weeks:
        n = con.execute("SELECT count(*) FROM plays WHERE week = ?", [w]).fetchall()[0][0]
        src = pl.read_parquet(folder / f"w{w}.parquet").height
        assert n == src
    assert after.filter(pl.col("week") == 1).equals(before)
    report = ingest(con, LocalSource(folder), PlayFilter())
    assert not report.rejected
    assert con.execute("SELECT count(DISTINCT week) FROM plays").fetchall()[0][0] == 11
    con.close()


def test_nfl_data_py_reads_its_offline_cache(tmp_path: Path, shared_dir: Path) -> None:
    pytest.importorskip("nfl_data_py")
    cache = tmp_path / "ndp"
    (cache / "season=2021").mkdir(parents=True)
    src_file = shared_dir / "pbp" / "2021" / "play_by_play_2021.parquet"
    (cache / "season=2021" / "part.parquet").symlink_to(src_file)
    (batch,) = list(NflDataPySource(cache).batches([2021]))
    df = validate_plays(batch.load(), batch.key)
    source = pl.read_parquet(src_file)
    assert df.height == source.height
    assert df["game_id"].n_unique() == source["game_id"].n_unique()
    assert df["epa"].sum() == pytest.approx(source["epa"].sum())  # no float32 downcast


def test_nfl_data_py_empty_frame_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    nfl_data_py = pytest.importorskip("nfl_data_py")
    import pandas as pd

    def offline(years: list[int], **kw: object) -> pd.DataFrame:
        print("<urlopen error [Errno -2] Name or service not known>")
        return pd.DataFrame()

    monkeypatch.setattr(nfl_data_py, "import_pbp_data", offline)
    (batch,) = list(NflDataPySource().batches([2021]))
    with pytest.raises(SourceError, match=r"empty frame.*Name or service not known"):
        batch.load()


def test_missing_extra_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nfl_data_py", None)
    (batch,) = list(NflDataPySource().batches([2021]))
    with pytest.raises(SourceError, match="make nfl-data-py"):
        batch.load()
    with pytest.raises(InputError, match="--seasons"):
        list(NflreadpySource().batches(None))


def test_nflreadpy_reads_its_filesystem_cache(tmp_path: Path, shared_dir: Path) -> None:
    nflreadpy = pytest.importorskip("nflreadpy")
    from nflreadpy.cache import get_cache_manager
    from nflreadpy.config import reset_config, update_config
    from nflreadpy.downloader import get_downloader

    update_config(cache_mode="filesystem", cache_dir=tmp_path / "cache",
                  cache_duration=10**9)
    try:
        url = get_downloader()._build_url("nflverse-data", "pbp/play_by_play_2021",
                                          nflreadpy.downloader.DataFormat.PARQUET)
        key = get_cache_manager()._get_cache_key(url, season=2021)
        (tmp_path / "cache").mkdir()
        src_file = shared_dir / "pbp" / "2021" / "play_by_play_2021.parquet"
        (tmp_path / "cache" / f"{key}.parquet").symlink_to(src_file)
        (batch,) = list(NflreadpySource().batches([2021]))
        assert batch.load().height == pl.read_parquet(src_file).height
    finally:
        reset_config()


def test_failed_download_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    nflreadpy = pytest.importorskip("nflreadpy")

    def refuse(seasons: list[int]) -> pl.DataFrame:
        raise ConnectionError("Failed to download https://example/pbp_2021.parquet: refused")

    monkeypatch.setattr(nflreadpy, "load_pbp", refuse)
    (batch,) = list(NflreadpySource().batches([2021]))
    with pytest.raises(SourceError, match=r"could not download season 2021.*--source local"):
        batch.load()


@pytest.mark.real_data
def test_real_seasons_match_source_files(real_warehouse: Path, shared_dir: Path) -> None:
    con = connect(real_warehouse, read_only=True)
    got = dict((s, (n, g)) for s, n, g in con.execute(
        "SELECT season, count(*), count(DISTINCT game_id) FROM plays GROUP BY 1").fetchall())
    con.close()
    for f in sorted((shared_dir / "pbp").glob("*/*.parquet")):
        src = pl.read_parquet(f, columns=["season", "game_id"])
        season = int(src["season"][0])
        assert got[season] == (src.height, src["game_id"].n_unique()), f
    assert len(got) == 9


def test_cli_ingest_and_status(tmp_path: Path) -> None:
    folder = tmp_path / "pbp"
    write_files(make_pbp(weeks=(1, 2)), folder)
    db = tmp_path / "elsewhere.duckdb"
    env = {**os.environ, "PASSING_SCORE_DB": str(db), "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "passing_score.pipeline.cli"]
    r = subprocess.run([*cmd, "ingest", "--source", "local", "--path", str(folder)], env=env,
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert db.exists()
    r = subprocess.run([*cmd, "status"], env=env, capture_output=True, text=True, check=False)
    assert r.returncode == 0 and "2030" in r.stdout and "last ingest" in r.stdout
    r = subprocess.run([*cmd, "ingest", "--seasons", "20x"], env=env, capture_output=True,
                       text=True, check=False)
    assert r.returncode == 1 and "--seasons '20x'" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = subprocess.run([*cmd, "--db", str(tmp_path / "none.duckdb"), "status"], env=env,
                       capture_output=True, text=True, check=False)
    assert r.returncode == 1 and "does not exist" in r.stderr


def test_data_doc_is_in_sync() -> None:
    from passing_score.pipeline.foundation.config import PROJECT_ROOT
    from passing_score.pipeline.ingest.schema import data_doc

    assert (PROJECT_ROOT / "docs" / "data.md").read_text() == data_doc(), \
        "regenerate: python -m passing_score.pipeline.ingest.schema > docs/data.md"


def test_same_game_in_two_files_of_one_run_takes_the_last(
        tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    """Files of one run are written set-wise; a game in two files keeps the later file's
    plays, as when the files are ingested one at a time."""
    df = make_pbp()
    game = df["game_id"][0]
    df.write_parquet(tmp_path / "a_season.parquet")
    fixed = df.filter(pl.col("game_id") == game).head(30).with_columns(pl.lit("fixed")
                                                                       .alias("desc"))
    fixed.write_parquet(tmp_path / "b_game.parquet")
    report = ingest(con, LocalSource(tmp_path), PlayFilter())
    assert [r.status for r in report.results] == ["loaded", "loaded"]
    got = con.execute("SELECT count(*), min(\"desc\"), max(source_key) FROM plays "
                      "WHERE game_id = ?", [game]).fetchall()[0]
    assert got == (30, "fixed", str((tmp_path / "b_game.parquet").resolve()))
    total = con.execute("SELECT count(*) FROM plays").fetchall()[0][0]
    assert total == df.height - df.filter(pl.col("game_id") == game).height + 30
    plays = con.execute("SELECT plays FROM game_status WHERE game_id = ?", [game]).fetchall()
    assert plays == [(30,)]


def test_store_failure_refuses_only_that_file(tmp_path: Path, con: duckdb.DuckDBPyConnection,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that cannot be stored rolls the set-wise run back; the redo, file by file,
    refuses that file alone and loads the others."""
    from passing_score.pipeline.ingest import store

    make_pbp(weeks=(1,)).write_parquet(tmp_path / "a.parquet")
    make_pbp(weeks=(2,), seed=5).write_parquet(tmp_path / "b.parquet")
    make_pbp(weeks=(3,), seed=6).write_parquet(tmp_path / "c.parquet")
    real_add = store.GameWriter.add

    def add(self: store.GameWriter, df: pl.DataFrame, source: str,
            source_key: str) -> store.WriteResult:
        if source_key.endswith("b.parquet"):
            raise duckdb.ConversionException("Conversion Error: broken column")
        return real_add(self, df, source, source_key)

    monkeypatch.setattr(store.GameWriter, "add", add)
    seen: list[str] = []
    report = ingest(con, LocalSource(tmp_path), PlayFilter(),
                    on_batch=lambda r: seen.append(r.status))
    assert [r.status for r in report.results] == ["loaded", "rejected", "loaded"]
    assert seen == ["loaded", "rejected", "loaded"]  # each batch reported once
    assert "could not be stored" in (report.rejected[0].error or "")
    weeks = {w for (w,) in con.execute("SELECT DISTINCT week FROM plays").fetchall()}
    assert weeks == {1, 3}

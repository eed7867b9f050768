"""Hostile input to the CLI and the API: odd --out targets, SQL-looking values, huge numbers
and unicode get one-line errors (CLI, exit 1) or a 4xx (API), never a traceback or a 5xx,
and leave the warehouse byte for byte as it was.

Export policy (`reports.leaderboard.check_out_path` / `atomic_write`): `--out` is taken
relative to the working folder (`..` allowed) with symlinks followed, so the file written is
`os.path.realpath(--out)`; it is written through a temporary file in the same folder renamed
into place, and a failure leaves nothing behind (no temporary file, no folder made for it).
A folder, a device, pipe or socket, a symlink loop or a parent that is a file is one line
naming the path, exit code 1. Values click itself rejects (a NUL byte, a non-number) are its
usage errors, exit code 2, also without a traceback.
"""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import polars as pl
import pytest
from click.testing import Result
from typer.testing import CliRunner

from passing_score.pipeline.cli import app
from passing_score.reports.api.app import create_app
from tests.factories.boards import SEASONS, make_scored_warehouse, qb

with warnings.catch_warnings():  # starlette prefers httpx2; httpx works the same here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

SEASON = str(SEASONS[-1])
SQL = "KC'; DROP TABLE qb_season_scores;--"
HUGE = str(10**20)
Tree = dict[str, str]


@pytest.fixture(scope="module")
def scored_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic league scored by pipeline.scoring (boards recomputed from predictions)."""
    return make_scored_warehouse(tmp_path_factory.mktemp("hostile") / "w.duckdb")


def sha256(path: Path) -> str:
    """Digest of a file's bytes (the warehouse must not change)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(root: Path) -> Tree:
    """Every path under root with what it is: a link's target, a file's digest, or a folder;
    and the names of everything else in this test session's temporary folder."""
    out: Tree = {}
    base = root.parent
    for dirpath, dirnames, filenames in os.walk(base):
        for name in [*dirnames, *filenames]:
            p = Path(dirpath) / name
            if not p.is_relative_to(root):
                out[f"{p.relative_to(base)} (outside)"] = "exists"
            elif p.is_symlink():
                out[str(p.relative_to(root))] = "link -> " + os.readlink(p)
            elif p.is_file():
                out[str(p.relative_to(root))] = sha256(p)
            else:
                out[str(p.relative_to(root))] = "folder" if p.is_dir() else "special"
    return out


def changes(before: Tree, after: Tree) -> dict[str, str]:
    """Paths added, removed or changed between two trees."""
    return {p: after.get(p, "removed") for p in set(before) | set(after)
            if before.get(p) != after.get(p)}


def run_cli(args: list[str], db: Path) -> Result:
    """One CLI call in this process."""
    return CliRunner().invoke(app, args, env={"PASSING_SCORE_DB": str(db), "COLUMNS": "200"})


def assert_one_line_error(r: Result, *needles: str) -> None:
    """Exit code 1, one `error:` line on stderr naming the needles, no traceback."""
    assert r.exit_code == 1, r.output
    assert isinstance(r.exception, SystemExit), r.exception  # no exception escaped
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.output
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.fixture()
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder tree to write into, the working folder two levels down (sandbox/a/b)."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "folder").mkdir()
    (tmp_path / "plain").write_text("not a folder")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "real.out").write_text("old")
    (tmp_path / "link.out").symlink_to(tmp_path / "elsewhere" / "real.out")
    (tmp_path / "loop.out").symlink_to(tmp_path / "loop.out")
    os.mkfifo(tmp_path / "fifo")
    monkeypatch.chdir(tmp_path / "a" / "b")
    yield tmp_path


def export_args(verb: str, out: str) -> list[str]:
    """The CLI call writing `out`: a csv leaderboard or the HTML season report."""
    if verb == "leaderboard":
        return ["leaderboard", "--season", SEASON, "--format", "csv", "--out", out]
    return ["report", "--season", SEASON, "--out", out]


# ---------------------------------------------------------------- --out targets


@pytest.mark.parametrize("verb", ["leaderboard", "report"])
def test_out_is_written_exactly_where_it_resolves(scored_db: Path, sandbox: Path,
                                                  verb: str) -> None:
    before = tree(sandbox)
    r = run_cli(export_args(verb, "../../up.out"), scored_db)
    assert r.exit_code == 0, r.output
    written = changes(before, tree(sandbox))
    assert list(written) == ["up.out"]  # nothing else appears, no temporary file stays
    text = (sandbox / "up.out").read_text()
    assert text.startswith("rank,passer_id") if verb == "leaderboard" else "<html" in text
    # through a symlink: the link's target gets the new content and the link stays a link
    before = tree(sandbox)
    r = run_cli(export_args(verb, "../../link.out"), scored_db)
    assert r.exit_code == 0, r.output
    assert list(changes(before, tree(sandbox))) == ["elsewhere/real.out"]
    assert (sandbox / "link.out").is_symlink()
    assert (sandbox / "elsewhere" / "real.out").read_text() == text


@pytest.mark.parametrize("verb", ["leaderboard", "report"])
@pytest.mark.parametrize(("out", "problem"), [
    ("../../folder", "is a directory"),
    ("../..", "is a directory"),
    ("../../plain/x.out", "is a file, not a folder"),
    ("../../plain/deeper/x.out", "is a file, not a folder"),
    ("../../loop.out", "symlink loop"),
    ("../../fifo", "not a regular file"),
    ("x" * 300 + ".out", "File name too long"),
])
def test_bad_out_targets_are_one_line_and_write_nothing(
        scored_db: Path, sandbox: Path, verb: str, out: str, problem: str) -> None:
    before, db_digest = tree(sandbox), sha256(scored_db)
    r = run_cli(export_args(verb, out), scored_db)
    assert_one_line_error(r, out, problem)
    assert changes(before, tree(sandbox)) == {}
    assert sha256(scored_db) == db_digest


@pytest.mark.parametrize("verb", ["leaderboard", "report"])
def test_nul_byte_in_out_is_a_usage_error(scored_db: Path, sandbox: Path, verb: str) -> None:
    before = tree(sandbox)
    r = run_cli(export_args(verb, "x\0y.out"), scored_db)
    assert r.exit_code == 2 and isinstance(r.exception, SystemExit), r.output
    assert "--out" in r.stderr and "null byte" in r.stderr and "Traceback" not in r.output
    assert changes(before, tree(sandbox)) == {}


def test_library_export_rejects_a_nul_byte(scored_db: Path, sandbox: Path) -> None:
    """Callers other than the CLI get the same policy: one line naming the path."""
    from passing_score.pipeline.foundation.errors import InputError
    from passing_score.reports.leaderboard.export import export

    with pytest.raises(InputError, match=r"--out 'x\\x00y.csv': contains a NUL byte"):
        export(pl.DataFrame({"a": [1]}), "csv", Path("x\0y.csv"), {})


@pytest.mark.parametrize("verb", ["leaderboard", "report"])
def test_a_failed_command_creates_no_folder(scored_db: Path, sandbox: Path, verb: str) -> None:
    before = tree(sandbox)
    args = export_args(verb, "../../new/deep/x.out")
    args[args.index("--season") + 1] = "1999"  # no such season: fails before writing
    assert_one_line_error(run_cli(args, scored_db), "1999")
    assert changes(before, tree(sandbox)) == {}


def test_a_failed_write_leaves_nothing_behind(scored_db: Path, sandbox: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(self: pl.DataFrame, file: object = None, **kw: object) -> None:
        Path(str(file)).write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_csv", disk_full)
    before = tree(sandbox)
    r = run_cli(export_args("leaderboard", "../../new/deep/x.csv"), scored_db)
    assert_one_line_error(r, "../../new/deep/x.csv", "No space left on device")
    assert changes(before, tree(sandbox)) == {}  # no temporary file, no new folders


def test_exports_are_renamed_into_place_from_the_same_folder(
        scored_db: Path, sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    renames: list[tuple[Path, Path]] = []
    real_replace = os.replace

    def replace(src: str | Path, dst: str | Path) -> None:
        renames.append((Path(src), Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    (sandbox / "board.csv").write_text("previous export")
    r = run_cli(export_args("leaderboard", "../../board.csv"), scored_db)
    assert r.exit_code == 0, r.output
    ((src, dst),) = renames
    assert dst.resolve() == (sandbox / "board.csv").resolve()
    assert src.resolve().parent == dst.resolve().parent
    assert src.name.startswith(".board.csv.") and not src.exists()
    assert dst.read_text().startswith("rank,passer_id")


def test_out_without_a_file_format_is_an_error(scored_db: Path, sandbox: Path) -> None:
    before = tree(sandbox)
    r = run_cli(["leaderboard", "--season", SEASON, "--out", "board.csv"], scored_db)
    assert_one_line_error(r, "board.csv", "--format")
    assert changes(before, tree(sandbox)) == {}


# ---------------------------------------------------------------- values


@pytest.mark.parametrize(("args", "needle"), [
    (["--team", SQL], SQL),
    (["--sort", "score; DROP TABLE plays"], "cannot sort by"),
    (["--sort", "-score'--"], "cannot sort by"),
    (["--split", "deep'); DROP TABLE plays;--"], "--split"),
    (["--model-version", "x' OR '1'='1"], "model version"),
    (["--season-type", "REG' OR 1=1"], "--season-type"),
    (["--min-dropbacks", HUGE], "min-dropbacks"),
    (["--min-dropbacks", "-1"], "min-dropbacks"),
    (["--week", "99999"], "99999"),
    (["--game-week", HUGE], HUGE),
    (["--team", "ÄÖ"], "ÄÖ"),
    (["--team", "🏈"], "🏈"),
])
def test_hostile_leaderboard_values_are_one_line(scored_db: Path, args: list[str],
                                                 needle: str) -> None:
    digest = sha256(scored_db)
    assert_one_line_error(run_cli(["leaderboard", "--season", SEASON, *args], scored_db),
                          needle)
    assert sha256(scored_db) == digest


@pytest.mark.parametrize("args", [
    ["leaderboard", "--season", HUGE],
    ["leaderboard", "--season", str(-10**12)],
    ["report", "--season", HUGE, "--out", "r.html"],
    ["report", "--season", SEASON, "--compare", str(10**12), "--out", "r.html"],
    ["report", "--season", SEASON, "--qbs", SQL, "--out", "r.html"],
    ["report", "--season", SEASON, "--qbs", "Łukasz,🏈", "--out", "r.html"],
    ["report", "--season", SEASON, "--model-version", "ÄÖ' OR 1=1--", "--out", "r.html"],
])
def test_hostile_seasons_ids_and_versions_are_one_line(scored_db: Path, sandbox: Path,
                                                       args: list[str]) -> None:
    before, digest = tree(sandbox), sha256(scored_db)
    assert_one_line_error(run_cli(args, scored_db))
    assert changes(before, tree(sandbox)) == {} and sha256(scored_db) == digest


@pytest.mark.parametrize("args", [
    ["--team", SQL],
    ["--min-dropbacks", HUGE],
])
def test_the_installed_entry_point_answers_one_line(scored_db: Path, args: list[str]) -> None:
    """The same through `python -m passing_score.pipeline.cli` (the console script's error
    handling)."""
    env = {**os.environ, "PASSING_SCORE_DB": str(scored_db)}
    r = subprocess.run([sys.executable, "-m", "passing_score.pipeline.cli", "leaderboard",
                        "--season", SEASON, *args], env=env, capture_output=True, text=True,
                       check=False)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error: ")


# ---------------------------------------------------------------- the API


@pytest.fixture(scope="module")
def client(scored_db: Path) -> Iterator[TestClient]:
    """A client of the API over the scored warehouse."""
    with TestClient(create_app(scored_db)) as c:
        yield c


def _detail(r: object) -> object:
    body = r.json()  # type: ignore[attr-defined]
    assert isinstance(body, dict) and "detail" in body
    return body["detail"]


@pytest.mark.parametrize("url", [
    "/leaderboard?limit=" + str(10**12), "/leaderboard?offset=" + str(10**30),
    "/leaderboard?week=" + str(10**9), "/leaderboard?through_week=" + str(10**9),
    "/leaderboard?season=" + str(10**12), "/leaderboard?season=" + str(-10**30),
    "/leaderboard?min_dropbacks=" + HUGE, "/leaderboard?limit=1e3",
    f"/qbs/{qb(0)}/games?season={10**12}", f"/qbs/{qb(0)}/games?limit={10**12}",
    f"/qbs/{qb(0)}/games?offset={10**30}",
    "/leaderboard?team=" + quote(SQL), "/leaderboard?sort=" + quote("score; DROP TABLE plays"),
    "/leaderboard?split=" + quote("deep' OR 1=1--"),
    "/leaderboard?season_type=" + quote("REG' OR '1'='1"),
    "/leaderboard?team=" + quote("ÄÖ"), "/leaderboard?split=" + quote("straße"),
    "/leaderboard?team=" + "A" * 10_000, "/leaderboard?sort=" + quote("score\x00"),
])
def test_api_hostile_parameters_are_422(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 422, r.text
    assert _detail(r)


@pytest.mark.parametrize("url", [
    "/qbs/" + quote("Łukasz☃"), "/qbs/" + quote("🏈") + "/games",
    "/games/" + quote("🏈🏈") + "/scores", "/games/" + quote("2023_01_ÄÖ_KC") + "/scores",
    "/qbs/" + quote(SQL), "/games/" + quote(SQL) + "/scores",
    "/qbs/" + quote("..%2F..%2Fetc%2Fpasswd", safe=""), "/qbs/%0a", "/qbs/%C3%28",
    "/leaderboard?model_version=" + quote("x' OR '1'='1"),
    "/leaderboard?model_version=" + quote("ÄÖ🏈"),
    f"/qbs/{qb(0)}?model_version=" + quote(SQL),
])
def test_api_hostile_ids_are_404(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 404, r.text
    assert _detail(r)


def test_api_leaves_the_warehouse_intact(client: TestClient, scored_db: Path) -> None:
    digest = sha256(scored_db)
    board = client.get("/leaderboard").json()["rows"]
    for url in ("/leaderboard?team=" + quote(SQL), "/qbs/" + quote(SQL),
                "/games/" + quote(SQL) + "/scores",
                "/leaderboard?model_version=" + quote("x'; DROP TABLE qb_game_scores;--")):
        assert 400 <= client.get(url).status_code < 500
    assert client.get("/leaderboard").json()["rows"] == board
    assert client.get(f"/qbs/{qb(0)}").status_code == 200
    assert sha256(scored_db) == digest

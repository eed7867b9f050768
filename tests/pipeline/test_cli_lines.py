"""CLI lines people grep: unreadable ingest paths are one line with exit 1, and the ingest
summary stays on one line whatever the width (piped output is never wrapped)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from passing_score.pipeline import jobs
from passing_score.pipeline.cli import app
from tests.factories.pbp import make_pbp


def test_unreadable_path_is_one_line_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    def denied(*_: object, **__: object) -> None:
        raise PermissionError(13, "Permission denied", "/proc/1/cwd")

    monkeypatch.setattr(jobs, "ingest", denied)
    r = CliRunner().invoke(app, ["--db", str(tmp_path / "w.duckdb"), "ingest", "--path",
                                 "/proc"])
    assert r.exit_code == 1
    lines = [x for x in r.output.splitlines() if x.strip()]
    assert lines == ["error: --path /proc: cannot be read (Permission denied: /proc/1/cwd)"]


def test_ingest_summary_is_one_unwrapped_line(tmp_path: Path) -> None:
    src = tmp_path / "pbp"
    src.mkdir()
    make_pbp().write_parquet(src / "p.parquet")
    env = {**os.environ, "COLUMNS": "40", "PASSING_SCORE_DB": str(tmp_path / "w.duckdb"),
           "PASSING_SCORE_SHARED": str(tmp_path / "none")}
    out = subprocess.run([sys.executable, "-m", "passing_score.pipeline.cli", "ingest",
                          "--path", str(src)], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("ingest: 1 batches, 1 loaded") and lines[0].endswith("rejected")
    assert len(lines[0]) > 40 and lines[1].startswith("players: player names not loaded")
    assert len(lines) == 2

"""Serving beyond one process: `serve --workers N` and `export --out DIR`."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx

from tests.factories.trained import TrainedLeague

CLI = [sys.executable, "-m", "passing_score.pipeline.cli"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_export_writes_the_served_tables(trained_league: TrainedLeague, tmp_path: Path) -> None:
    out = tmp_path / "pub"
    for _ in range(2):  # a second export replaces the first whole
        r = subprocess.run([*CLI, "export", "--out", str(out)],
                           env=trained_league.env(trained_league.db), capture_output=True,
                           text=True, check=False)
        assert r.returncode == 0, r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tables"]["qb_season_scores"] > 0 and manifest["model_versions"]
    con = duckdb.connect()
    n = con.execute(f"SELECT count(*) FROM '{out}/qb_season_scores.parquet'").fetchall()[0][0]
    assert n == manifest["tables"]["qb_season_scores"]
    assert not list(tmp_path.glob(".pub*"))  # no temporary folder left behind


def test_serve_with_two_workers(trained_league: TrainedLeague) -> None:
    port = _port()
    proc = subprocess.Popen([*CLI, "serve", "--port", str(port), "--workers", "2"],
                            env=trained_league.env(trained_league.db),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline, ok = time.monotonic() + 90, False
        while time.monotonic() < deadline and not ok:
            try:
                ok = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.3)
        assert ok
        pids = {httpx.get(f"http://127.0.0.1:{port}/seasons", timeout=10).status_code
                for _ in range(20)}
        assert pids == {200}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

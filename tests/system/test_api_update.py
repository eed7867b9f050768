"""The API keeps answering, from complete weeks only, while `passing-score update` writes the
file it serves (reports.api snapshots + pipeline.jobs single transaction)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

from passing_score.reports.api.app import create_app
from tests.factories.trained import TrainedLeague

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

CLI = [sys.executable, "-m", "passing_score.pipeline.cli"]


def _weeks(health: dict) -> tuple[int | None, int | None]:  # type: ignore[type-arg]
    f = health["freshness"]
    return f["last_week"], f["scored_week"]


def test_api_answers_old_or_new_week_never_a_mix_during_update(
        trained_league: TrainedLeague, tmp_path: Path) -> None:
    lg = trained_league
    db = tmp_path / "w.duckdb"
    shutil.copy(lg.db, db)
    board = f"/leaderboard?season={lg.season}&limit=100"
    seen: list[tuple[bool, int, str, str]] = []  # (update running, status, url, body)
    with TestClient(create_app(db)) as c:
        before = c.get(board)
        assert before.status_code == 200 and before.json()["week"] == lg.week - 1
        assert _weeks(c.get("/health").json()) == (lg.week - 1, lg.week - 1)
        proc = subprocess.Popen([*CLI, "update", "--season", str(lg.season), "--week",
                                 str(lg.week), "--path", str(lg.week_dir)],
                                env=lg.env(db), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        stop = threading.Event()

        def poll() -> None:
            urls = [board, "/health", "/seasons", f"/leaderboard?season={lg.season}&week=1"]
            i = 0
            while not stop.is_set():
                running = proc.poll() is None
                r = c.get(urls[i % len(urls)])
                seen.append((running, r.status_code, urls[i % len(urls)], r.text))
                i += 1
                time.sleep(0.005)

        threads = [threading.Thread(target=poll) for _ in range(3)]
        for t in threads:
            t.start()
        _, err = proc.communicate(timeout=300)
        time.sleep(0.6)  # a snapshot retry interval: the next requests see the new state
        stop.set()
        for t in threads:
            t.join(30)
        assert proc.returncode == 0, err
        after = c.get(board)
        assert after.json()["week"] == lg.week
        assert _weeks(c.get("/health").json()) == (lg.week, lg.week)

    during = [s for s in seen if s[0]]
    assert len(during) >= 10, "the update finished before the API was asked anything"
    assert all(status == 200 for _, status, _, _ in seen), \
        {(u, st) for _, st, u, _ in seen if st != 200}
    boards = {body for _, _, url, body in seen if url == board}
    assert boards <= {before.text, after.text}  # exactly the old or the new board
    for _, _, url, body in seen:
        if url == "/health":
            last, scored = _weeks(json.loads(body))
            assert last == scored, "a week ingested but not scored was visible"
    assert after.text != before.text

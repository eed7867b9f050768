"""The broadcaster API (reports.api) with FastAPI's TestClient: every endpoint and error path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import duckdb
import pytest

from passing_score.reports.api.app import create_app
from passing_score.reports.api.snapshot import FAIL_FAST_S
from passing_score.reports.leaderboard import board as lb
from passing_score.reports.leaderboard.columns import ROW_COLUMNS
from tests.factories.boards import (
    BACKUP_ID,
    BACKUP_NAME,
    MV,
    PER_GAME,
    REG_WEEKS,
    SEASONS,
    make_score_warehouse,
    make_scored_warehouse,
    qb,
)

with warnings.catch_warnings():  # starlette prefers httpx2; httpx works the same here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def score_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse holding only the score tables and an ingest log."""
    return make_score_warehouse(tmp_path_factory.mktemp("api") / "scores.duckdb")


@pytest.fixture(scope="module")
def client(score_db: Path) -> Iterator[TestClient]:
    """A client of the app over the score-tables warehouse."""
    with TestClient(create_app(score_db)) as c:
        yield c


@pytest.fixture(scope="module")
def scored_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A client over a league scored by pipeline.scoring (play_predictions present)."""
    db = make_scored_warehouse(tmp_path_factory.mktemp("api_scored") / "w.duckdb")
    with TestClient(create_app(db)) as c:
        yield c


def test_health_and_openapi(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    h = r.json()
    assert h["status"] == "ok" and h["model_version"] == MV and not h["season_to_date_boards"]
    assert h["freshness"] == {"last_season": 2023, "last_week": REG_WEEKS + 1,
                              "last_ingest_at": "2024-02-12T09:30:00",
                              "scored_season": 2023, "scored_week": REG_WEEKS + 1}
    spec = client.get("/openapi.json").json()
    assert {"/health", "/seasons", "/leaderboard", "/qbs/{passer_id}",
            "/qbs/{passer_id}/games", "/games/{game_id}/scores"} <= set(spec["paths"])
    assert "LeaderboardRow" in spec["components"]["schemas"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/assets/swagger/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert client.get("/assets/swagger/swagger-ui-bundle.js").status_code == 200
    undocumented = [(path, p["name"]) for path, ops in spec["paths"].items()
                    for op in ops.values() for p in op.get("parameters", [])
                    if not p.get("description")]
    assert undocumented == []
    params = {p["name"]: p for p in spec["paths"]["/leaderboard"]["get"]["parameters"]}
    assert "deep" in json.dumps(params["split"]["schema"]) and "red_zone" in json.dumps(
        params["split"]["schema"])
    assert "ALL" in json.dumps(params["season_type"]["schema"])


def test_head_is_allowed_on_every_get_route(client: TestClient) -> None:
    for url in ("/health", "/seasons", "/leaderboard", f"/qbs/{qb(0)}", f"/qbs/{qb(0)}/games",
                "/games/2023_01_BUF_CIN/scores", "/", "/docs", "/openapi.json",
                "/static/app.js"):
        get, head = client.get(url), client.head(url)
        assert head.status_code == get.status_code == 200, url
        assert head.content == b"" and head.headers.get("etag") == get.headers.get("etag")
    assert client.head("/qbs/00-9999999").status_code == 404
    assert client.post("/health").status_code == 405


def test_every_list_is_under_rows_with_total(client: TestClient) -> None:
    for url in ("/seasons", "/leaderboard", f"/qbs/{qb(0)}", f"/qbs/{qb(0)}/games",
                "/games/2023_01_BUF_CIN/scores"):
        body = client.get(url).json()
        assert isinstance(body["rows"], list) and body["total"] >= len(body["rows"]) > 0, url
        lists = [k for k, v in body.items() if isinstance(v, list) and k != "model_versions"]
        # the leaderboard also lists the season's games in progress apart (live scoring)
        assert lists == (["rows", "in_progress"] if url == "/leaderboard" else ["rows"]), \
            (url, lists)


def test_seasons(client: TestClient) -> None:
    r = client.get("/seasons")
    assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=30"
    body = r.json()
    assert body["model_version"] == MV and body["model_versions"] == [MV]
    reg = {s["season"]: s for s in body["rows"] if s["season_type"] == "REG"}
    assert set(reg) == set(SEASONS)
    assert reg[2023]["last_week"] == REG_WEEKS and reg[2023]["games"] == 4 * REG_WEEKS
    assert reg[2023]["qbs"] == 9 and reg[2023]["qualified"] == 8
    assert [s["season_type"] for s in body["rows"][:3]] == ["REG", "POST", "ALL"]


def test_leaderboard_rows_pagination_and_headers(client: TestClient) -> None:
    r = client.get("/leaderboard")
    assert r.status_code == 200
    b = r.json()
    assert b["season"] == SEASONS[-1] and b["season_type"] == "REG" and b["total"] == 8
    assert b["week"] == REG_WEEKS and b["game_week"] is None and b["limit"] == 50
    assert [row["rank"] for row in b["rows"]] == list(range(1, 9))
    assert set(ROW_COLUMNS) <= set(b["rows"][0])
    assert r.headers["cache-control"] == "public, max-age=30" and r.headers["etag"]
    page = client.get("/leaderboard", params={"season": 2023, "limit": 3, "offset": 3}).json()
    assert page["total"] == 8 and [x["rank"] for x in page["rows"]] == [4, 5, 6]
    past = client.get("/leaderboard", params={"limit": 5, "offset": 100}).json()
    assert past["total"] == 8 and past["rows"] == []
    week = client.get("/leaderboard", params={"game_week": 5, "season": 2023}).json()
    assert week["game_week"] == 5 and BACKUP_ID not in [x["passer_id"] for x in week["rows"]]
    assert all(x["game_id"].startswith("2023_05_") and x["opponent"] for x in week["rows"])
    both = client.get("/leaderboard", params={"season_type": "ALL"}).json()
    assert both["season_type"] == "ALL" and both["total"] >= 8
    post = client.get("/leaderboard", params={"season_type": "post"}).json()
    assert post["season_type"] == "POST" and post["total"] == 4
    mind = client.get("/leaderboard", params={"min_dropbacks": 1}).json()
    assert mind["total"] == 9 and mind["min_dropbacks"] == 1
    kc = client.get("/leaderboard", params={"team": "kc"}).json()
    assert [x["team"] for x in kc["rows"]] == ["KC"]
    by = client.get("/leaderboard", params={"sort": "cpoe"}).json()["rows"]
    assert [x["cpoe"] for x in by] == sorted((x["cpoe"] for x in by), reverse=True)


def test_etag_gives_304(client: TestClient) -> None:
    r = client.get("/leaderboard", params={"season": 2023})
    etag = r.headers["etag"]
    again = client.get("/leaderboard", params={"season": 2023}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag and again.headers["cache-control"]
    listed = client.get("/leaderboard", params={"season": 2023},
                        headers={"If-None-Match": f'"other", {etag.removeprefix("W/")}'})
    assert listed.status_code == 304
    other = client.get("/leaderboard", params={"season": 2022}, headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag
    qb_tag = client.get(f"/qbs/{qb(0)}").headers["etag"]
    assert client.get(f"/qbs/{qb(0)}", headers={"If-None-Match": qb_tag}).status_code == 304


def test_qb_endpoints(client: TestClient) -> None:
    r = client.get(f"/qbs/{qb(0)}")
    assert r.status_code == 200
    body = r.json()
    assert body["passer_name"] == "P.Mahomes" and body["model_version"] == MV
    assert [(s["season"], s["season_type"]) for s in body["rows"]] == [
        (2022, "REG"), (2022, "POST"), (2022, "ALL"), (2023, "REG"), (2023, "POST"),
        (2023, "ALL")]
    games = client.get(f"/qbs/{qb(0)}/games", params={"season": 2023}).json()
    assert games["total"] == REG_WEEKS + 1 and len(games["rows"]) == REG_WEEKS + 1
    assert [g["week"] for g in games["rows"]] == list(range(1, REG_WEEKS + 2))
    page = client.get(f"/qbs/{qb(0)}/games", params={"limit": 2, "offset": 2}).json()
    assert page["total"] == 2 * (REG_WEEKS + 1) and [g["week"] for g in page["rows"]] == [3, 4]
    backup = client.get(f"/qbs/{BACKUP_ID}").json()
    assert backup["passer_name"] == BACKUP_NAME  # unicode names pass through


def test_game_scores(client: TestClient) -> None:
    r = client.get("/games/2023_01_BUF_CIN/scores")
    assert r.status_code == 200
    body = r.json()
    assert body["season"] == 2023 and body["week"] == 1 and body["season_type"] == "REG"
    assert {s["team"] for s in body["rows"]} == {"BUF", "CIN"}
    scores = [s["score"] for s in body["rows"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("url", [
    "/qbs/00-9999999", "/qbs/00-9999999/games", "/games/2030_01_AAA_BBB/scores",
    "/leaderboard?season=1999", "/qbs/00-0030001/games?season=1999",
    "/leaderboard?model_version=nope", "/seasons?model_version=nope",
    "/leaderboard?game_week=12", "/leaderboard?team=NYG", "/leaderboard?week=3",
    "/leaderboard?split=deep",
    "/qbs/" + quote("Ł☃é"), "/games/" + quote("🏈") + "/scores",
    "/qbs/" + "9" * 500, "/qbs/" + quote("1' OR '1'='1"),
    "/games/" + quote("x'; DROP TABLE qb_game_scores; --") + "/scores",
    "/qbs/" + quote("00-0030001' --") + "/games",
])
def test_unknown_ids_are_404(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 404, r.text
    assert isinstance(r.json()["detail"], str)


def test_sql_looking_data_leaves_the_warehouse_intact(client: TestClient) -> None:
    client.get("/games/" + quote("x'; DROP TABLE qb_game_scores; --") + "/scores")
    assert client.get("/games/2023_01_BUF_CIN/scores").status_code == 200


@pytest.mark.parametrize("url", [
    "/leaderboard?limit=501", "/leaderboard?limit=100000000000", "/leaderboard?limit=0",
    "/leaderboard?offset=-1", "/leaderboard?season=abc", "/leaderboard?season=20233",
    "/leaderboard?week=0", "/leaderboard?week=x", "/leaderboard?season_type=PRE",
    "/leaderboard?season_type=REG%27%20OR%201=1", "/leaderboard?team=KC%27--",
    "/leaderboard?split=" + quote("deep'; DROP TABLE plays"), "/leaderboard?sort=nope",
    "/leaderboard?sort=" + quote("score; DROP"), "/leaderboard?game_week=2&week=3",
    "/leaderboard?min_dropbacks=-5", "/qbs/00-0030001/games?season=x",
    "/qbs/00-0030001/games?limit=9999",
])
def test_malformed_parameters_are_422(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 422, r.text


def test_never_500(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(lb, "board", boom)
    r = client.get("/leaderboard", params={"season": 2022, "min_dropbacks": 7})
    assert r.status_code == 503 and "unexpected" in r.json()["detail"]
    assert r.headers["retry-after"]
    for url in ("/nope", "/qbs", "/games//scores", "/leaderboard/x", "/%00", "/qbs/%00"):
        assert client.get(url).status_code < 500 or client.get(url).status_code == 503
    assert client.post("/leaderboard").status_code == 405


def test_missing_or_empty_warehouse_is_503(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "missing.duckdb")) as c:
        r = c.get("/leaderboard")
        assert r.status_code == 503 and r.headers["retry-after"]
    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    with TestClient(create_app(tmp_path / "empty.duckdb")) as c:
        r = c.get("/health")
        assert r.status_code == 503 and "no Passing Scores" in r.json()["detail"]


def _hold_write_lock(db: Path) -> subprocess.Popen[str]:
    """A process holding the warehouse open for writing (as the weekly job does)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('locked', flush=True); time.sleep(60)", str(db)],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def _stop(holder: subprocess.Popen[str]) -> None:
    if holder.poll() is None:
        holder.kill()
        holder.wait(10)


def test_writer_lock_before_any_snapshot_gives_503_then_recovers(score_db: Path,
                                                                 tmp_path: Path) -> None:
    db = tmp_path / "locked.duckdb"
    shutil.copy(score_db, db)
    holder = _hold_write_lock(db)
    try:
        with TestClient(create_app(db, open_timeout=0.3)) as c:
            t = time.monotonic()
            r = c.get("/leaderboard")
            assert r.status_code == 503 and r.headers["retry-after"] == "2"
            assert "being updated" in r.json()["detail"] and time.monotonic() - t < 5
            _stop(holder)
            time.sleep(FAIL_FAST_S + 0.1)  # 503s come at once for a moment after a failure
            assert c.get("/leaderboard").status_code == 200
    finally:
        _stop(holder)


def test_the_last_snapshot_answers_while_a_writer_holds_the_file(score_db: Path,
                                                                 tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    shutil.copy(score_db, db)
    app = create_app(db, open_timeout=0.3)
    with TestClient(app) as c:
        before = c.get("/leaderboard")
        assert before.status_code == 200 and before.json()["rows"][0]["passer_id"] == qb(0)
        assert not app.state.warehouse.holds_file()  # the snapshot is in memory
        holder = _hold_write_lock(db)  # a writer gets in at once: the API holds no lock
        try:
            for url in ("/leaderboard", "/leaderboard?limit=5", f"/qbs/{qb(1)}", "/seasons"):
                r = c.get(url)
                assert r.status_code == 200, (url, r.text)
            again = c.get("/leaderboard")
            assert again.json() == before.json() and again.headers["etag"] == \
                before.headers["etag"]
        finally:
            _stop(holder)


def test_a_rewrite_is_seen_on_the_next_request(score_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    shutil.copy(score_db, db)
    app = create_app(db)
    with TestClient(app) as c:
        first = c.get("/leaderboard")
        assert first.json()["rows"][0]["passer_id"] == qb(0)
        assert c.get("/leaderboard").headers["etag"] == first.headers["etag"]  # cached answer
        con = duckdb.connect(str(db))  # a writer gets in while the API is up
        con.execute("UPDATE qb_season_scores SET score = 99, rank = 0 WHERE passer_id = ?",
                    [qb(7)])
        con.close()
        second = c.get("/leaderboard", headers={"If-None-Match": first.headers["etag"]})
        assert second.status_code == 200 and second.json()["rows"][0]["passer_id"] == qb(7)
        third = c.get("/leaderboard", headers={"If-None-Match": second.headers["etag"]})
        assert third.status_code == 304 and third.content == b""


def test_a_swapped_file_is_served_at_once(score_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    shutil.copy(score_db, db)
    app = create_app(db)
    with TestClient(app) as c:
        assert c.get("/leaderboard").json()["rows"][0]["passer_id"] == qb(0)
        new = tmp_path / "new.duckdb"
        shutil.copy(score_db, new)
        con = duckdb.connect(str(new))
        con.execute("UPDATE qb_season_scores SET score = 99, rank = 0 WHERE passer_id = ?",
                    [qb(6)])
        con.close()
        os.replace(new, db)  # the publish pattern of docs/api.md
        assert c.get("/leaderboard").json()["rows"][0]["passer_id"] == qb(6)
    assert not app.state.warehouse.holds_file()


def test_season_to_date_boards_when_play_predictions_exist(
        scored_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    h = scored_client.get("/health").json()
    assert h["season_to_date_boards"]
    full = scored_client.get("/leaderboard").json()
    assert full["total"] > 0 and full["rows"][0]["score_change"] is not None
    w3 = scored_client.get("/leaderboard", params={"week": 3}).json()
    assert w3["week"] == 3 and w3["rows"][0]["dropbacks"] <= 3 * PER_GAME
    old = scored_client.get("/leaderboard", params={"through_week": 3}).json()
    assert old["rows"] == w3["rows"]  # the deprecated name of week
    deep = scored_client.get("/leaderboard", params={"split": "deep", "week": 4})
    assert deep.status_code == 200 and deep.json()["split"] == "deep"
    bad = scored_client.get("/leaderboard", params={"split": "deep", "game_week": 4})
    assert bad.status_code == 422 and "--" not in bad.json()["detail"]
    assert "use week (the season through a week), not game_week" in bad.json()["detail"]
    full4 = scored_client.get("/leaderboard", params={"week": 4}).json()
    assert deep.json()["rows"] != full4["rows"]  # only the deep throws were scored


def test_concurrent_requests_and_a_swap_under_load(score_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    shutil.copy(score_db, db)
    new = tmp_path / "new.duckdb"
    shutil.copy(score_db, new)
    con = duckdb.connect(str(new))
    con.execute("UPDATE qb_season_scores SET score = 99, rank = 0 WHERE passer_id = ?", [qb(5)])
    con.close()
    app = create_app(db)
    urls = ["/leaderboard", f"/qbs/{qb(1)}", f"/qbs/{qb(2)}/games?season=2023",
            "/games/2023_01_BUF_CIN/scores", "/seasons", "/leaderboard?game_week=3"]
    codes: list[int] = []
    with TestClient(app) as c:
        def hammer(k: int) -> None:
            for i in range(30):
                codes.append(c.get(urls[(k + i) % len(urls)]).status_code)
                if k == 0 and i == 10:
                    os.replace(new, db)

        threads = [threading.Thread(target=hammer, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert codes.count(200) == len(codes) == 240
        assert c.get("/leaderboard").json()["rows"][0]["passer_id"] == qb(5)
        assert not app.state.warehouse.holds_file()


def test_several_model_versions(score_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "two.duckdb"
    shutil.copy(score_db, db)
    con = duckdb.connect(str(db))
    for table in ("qb_game_scores", "qb_season_scores"):
        con.execute(f"INSERT INTO {table} SELECT * REPLACE ('pm-old' AS model_version) "
                    f"FROM {table} WHERE season = 2022")
    con.close()
    with TestClient(create_app(db)) as c:
        h = c.get("/health").json()
        assert h["model_version"] == MV and h["model_versions"] == ["pm-old", MV]
        old = c.get("/leaderboard", params={"model_version": "pm-old"})
        assert old.status_code == 200 and old.json()["season"] == 2022
        assert old.json()["model_version"] == "pm-old"
        assert old.json()["freshness"]["scored_season"] == 2022
        assert c.get("/leaderboard", params={"model_version": "pm-old",
                                             "season": 2023}).status_code == 404
        assert c.get(f"/qbs/{qb(0)}", params={"model_version": "pm-old"}).json()[
            "rows"][-1]["season"] == 2022


def test_repeated_gets_are_answered_before_routing_with_the_same_bytes(
        score_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import passing_score.reports.api.routes as api

    db = tmp_path / "w.duckdb"
    shutil.copy(score_db, db)
    calls: list[str] = []
    real = api.facts

    def counted(ctx, model_version=None):  # type: ignore[no-untyped-def]
        calls.append("facts")
        return real(ctx, model_version)

    monkeypatch.setattr(api, "facts", counted)
    with TestClient(create_app(db)) as c:
        url = "/leaderboard?limit=5&offset=1"
        first = c.get(url)
        routed = len(calls)
        assert first.status_code == 200 and routed == 1
        second = c.get(url)
        assert len(calls) == routed  # answered from memory: no route ran
        assert second.content == first.content
        for h in ("etag", "cache-control", "content-type", "content-length"):
            assert second.headers[h] == first.headers[h], h
        cond = c.get(url, headers={"If-None-Match": first.headers["etag"]})
        assert cond.status_code == 304 and cond.content == b"" and len(calls) == routed
        other = c.get("/leaderboard?offset=1&limit=5")  # another query string: routed
        assert other.json() == first.json() and len(calls) == routed + 1
        assert c.get("/leaderboard?limit=0").status_code == 422  # errors are never stored
        assert c.get("/leaderboard?limit=0").status_code == 422
        con = duckdb.connect(str(db))  # a write makes every stored answer stale
        con.execute("UPDATE qb_season_scores SET score = 99, rank = 0 WHERE passer_id = ?",
                    [qb(3)])
        con.close()
        fresh = c.get(url)  # qb(3) now ranks first, so the page from offset 1 shifts
        assert fresh.content != first.content and len(calls) > routed + 1
        assert qb(3) in {r["passer_id"] for r in c.get("/leaderboard?limit=1").json()["rows"]}


def test_a_split_without_dropbacks_is_404_not_503(tmp_path: Path) -> None:
    db = make_scored_warehouse(tmp_path / "w.duckdb")
    con = duckdb.connect(str(db))
    con.execute("DROP TABLE dropbacks")
    con.close()
    with TestClient(create_app(db)) as c:
        assert c.get("/leaderboard").status_code == 200  # season boards need no dropbacks
        r = c.get("/leaderboard", params={"split": "clean_pocket"})
        assert r.status_code == 404 and "lacks dropbacks" in r.json()["detail"]

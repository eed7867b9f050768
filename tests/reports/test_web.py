"""The web leaderboard in a real headless Chromium (the system `chromium`, driven by the
playwright package; never `playwright install`): filters change the table to the API's rows
for that filter, the URL reproduces a view, a QB page draws its charts, no console errors.

Skipped, loudly, when chromium or playwright is absent (`make test` says so too; `.ci/run`
installs chromium, so CI runs them)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from passing_score.reports.api.app import create_app
from tests.factories.boards import SEASONS, make_scored_warehouse, qb

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SKIP_REASON = ("BROWSER TESTS SKIPPED: no chromium on PATH (apt-get install chromium) or "
               "no playwright package (make install)")

try:
    from playwright.sync_api import Page, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None  # type: ignore[assignment]

pytestmark = pytest.mark.skipif(CHROMIUM is None or sync_playwright is None, reason=SKIP_REASON)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`passing-score serve`'s app under uvicorn in a thread, over a scored warehouse."""
    db = make_scored_warehouse(tmp_path_factory.mktemp("web") / "w.duckdb")
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(db), host="127.0.0.1", port=port,
                                        log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield base
    srv.should_exit = True
    t.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert sync_playwright is not None
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[tuple[Page, list[str]]]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = ctx.new_page()
    problems: list[str] = []
    pg.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
          if m.type in ("error", "warning") else None)
    pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    pg.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    yield pg, problems
    ctx.close()


def _ready(pg: Page) -> None:
    pg.wait_for_function("document.body.dataset.ready === '1'", timeout=30_000)


def _table_ids(pg: Page) -> list[str]:
    return [str(x) for x in pg.eval_on_selector_all(
        "#board tbody tr[data-passer]", "rows => rows.map(r => r.dataset.passer)")]


def _api_ids(base: str, **params: Any) -> list[str]:
    body = httpx.get(f"{base}/leaderboard", params={**params, "limit": 500}).json()
    return [r["passer_id"] for r in body["rows"]]


def test_filters_show_the_apis_rows_and_the_url_keeps_the_view(server: str, page: Any) -> None:
    pg, problems = page
    pg.goto(server + "/")
    _ready(pg)
    season = str(SEASONS[-1])
    assert _table_ids(pg) == _api_ids(server, season=season) != []
    pg.select_option("#f-week", "3")  # the season through week 3
    _ready(pg)
    pg.wait_for_url("**week=3**")
    assert _table_ids(pg) == _api_ids(server, season=season, week=3)
    pg.select_option("#f-mode", "game_week")  # one week's games
    _ready(pg)
    pg.wait_for_url("**game_week=3**")
    assert _table_ids(pg) == _api_ids(server, season=season, game_week=3)
    assert pg.locator("#board thead th", has_text="Opp").count() == 1
    pg.select_option("#f-mode", "week")
    _ready(pg)
    pg.select_option("#f-split", "deep")
    _ready(pg)
    pg.wait_for_url("**split=deep**")
    url = pg.url
    deep = _api_ids(server, season=season, week=3, split="deep")
    assert _table_ids(pg) == deep
    pg.select_option("#f-season", str(SEASONS[0]))
    _ready(pg)
    pg.locator("#board thead th", has_text="CPOE").click()  # sort by a column
    _ready(pg)
    pg.wait_for_url("**sort=cpoe**")
    assert _table_ids(pg) == _api_ids(server, season=SEASONS[0], week=3, split="deep",
                                      sort="cpoe")
    pg.goto(url)  # a link reproduces the view
    _ready(pg)
    assert _table_ids(pg) == deep
    assert pg.locator("#f-split").input_value() == "deep"
    assert problems == []


def test_team_min_dropbacks_and_season_type(server: str, page: Any) -> None:
    pg, problems = page
    pg.goto(server + "/?season_type=POST")
    _ready(pg)
    assert _table_ids(pg) == _api_ids(server, season_type="POST")
    pg.goto(server + "/")
    _ready(pg)
    pg.select_option("#f-team", "KC")
    _ready(pg)
    assert _table_ids(pg) == _api_ids(server, team="KC") == [qb(0)]
    pg.fill("#f-min", "1")
    pg.press("#f-min", "Enter")
    _ready(pg)
    pg.wait_for_url("**min_dropbacks=1**")
    assert problems == []


def test_a_qb_page_draws_its_charts(server: str, page: Any) -> None:
    pg, problems = page
    pg.goto(server + "/")
    _ready(pg)
    pg.locator(f"#board a[data-qb='{qb(0)}']").click()
    _ready(pg)
    pg.wait_for_url(f"**qb={qb(0)}**")
    assert "P.Mahomes" in pg.locator("#qb-name").inner_text()
    seasons = httpx.get(f"{server}/qbs/{qb(0)}").json()["rows"]
    assert pg.locator("#qb-seasons tbody tr").count() == len(seasons)
    for chart in ("#chart-games", "#chart-components"):
        pg.wait_for_selector(f"{chart} .main-svg", timeout=20_000)
    points = pg.eval_on_selector("#chart-games", "d => d.data[0].y.filter(v => v !== null)"
                                 ".length")
    games = httpx.get(f"{server}/qbs/{qb(0)}/games", params={"limit": 500}).json()
    assert points == games["total"]
    pg.go_back()
    _ready(pg)
    assert _table_ids(pg) != []
    assert problems == []


def test_assets_are_local(server: str) -> None:
    html = httpx.get(server + "/").text
    assert "http" not in html.replace('href="/', "")  # no CDN or remote asset
    for path in ("/static/app.js", "/static/style.css", "/static/plotly.min.js",
                 "/assets/swagger/swagger-ui-bundle.js", "/assets/swagger/swagger-ui.css"):
        assert httpx.get(server + path).status_code == 200, path


def test_docs_render_offline(server: str, page: Any) -> None:
    pg, problems = page
    pg.route("**/*", lambda route: route.abort() if not route.request.url.startswith(server)
             else route.continue_())
    pg.goto(server + "/docs")
    pg.wait_for_selector(".opblock-summary-path", timeout=30_000)
    assert pg.locator(".opblock-summary-path", has_text="/leaderboard").count() >= 1
    assert [p for p in problems if "request failed" in p] == []

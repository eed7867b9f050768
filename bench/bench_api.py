"""Benchmark: the broadcaster API under a bounded load on loopback (reports.api).

Usage: ``python bench/bench_api.py [--db PATH] [--seconds 30] [--clients 50] [--rate 500]``.
Starts uvicorn on 127.0.0.1 (a free port) over the warehouse (``--db``, else PASSING_SCORE_DB,
else data/warehouse.duckdb) and measures, in one run:
- cold answers: distinct URLs each asked once (every one computed from the snapshot);
- open loop at ``--rate`` requests/s (the target figure), after one warm-up request per URL
  (a broadcaster polls answers already asked; cold answers are the figure above): sent on a fixed
  schedule whether or not earlier ones finished, and latency counts from the scheduled time,
  so a slow server cannot hide queueing (no coordinated omission);
- closed loop: ``--clients`` threads as fast as they can (the throughput ceiling).
``--app-root`` serves the app from another checkout (the before/after comparison).
Writes ``bench/results/api.json``. Without a warehouse holding scores it prints why and exits 0.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import write_result  # noqa: E402
from passing_score.pipeline.foundation.warehouse import fetch_one  # noqa: E402

HOST = "127.0.0.1"  # loopback only


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def has_scores(db: Path) -> str | None:
    """Why the warehouse cannot be benchmarked, or None when it holds season scores."""
    if not db.is_file():
        return f"no warehouse at {db} (pass --db or set PASSING_SCORE_DB)"
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as exc:
        return f"{db} cannot be opened read-only: {str(exc).splitlines()[0]}"
    try:
        row = fetch_one(con, "SELECT count(*) FROM information_schema.tables "
                             "WHERE table_name = 'qb_season_scores'")
        if not row or not row[0]:
            return f"{db} has no qb_season_scores (run `passing-score score` first)"
    finally:
        con.close()
    return None


def start_server(db: Path, port: int, root: Path = ROOT) -> subprocess.Popen[bytes]:
    """uvicorn with the API (from the checkout at `root`) in a child process, quiet logs."""
    code = ("import sys, uvicorn; from pathlib import Path\n"
            "try:\n    from passing_score.reports.api.app import create_app\n"
            "except ImportError:  # a checkout from before the passing_score namespace\n"
            "    from reports.api import create_app\n"
            "uvicorn.run(create_app(Path(sys.argv[1])), host=sys.argv[2], port=int(sys.argv[3]),"
            " log_level='warning', access_log=False)")
    return subprocess.Popen([sys.executable, "-c", code, str(db), HOST, str(port)], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT (uvicorn shuts down gracefully), then SIGKILL if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> dict[str, Any]:
    """Poll /health until the server answers 200 (returns its body)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"server exited with {proc.returncode}: {err[-500:]}")
        try:
            r = httpx.get(f"{base}/health", timeout=5)
            if r.status_code == 200:
                return dict(r.json())
            last = f"{r.status_code} {r.text[:200]}"
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise RuntimeError(f"server not ready after {timeout:.0f} s: {last}")


def targets(base: str) -> tuple[list[str], list[str], list[str], dict[str, Any]]:
    """(leaderboard URLs, QB URLs, QB ids, facts) for the newest season of the warehouse."""
    seasons = httpx.get(f"{base}/seasons", timeout=60).json()
    reg = [s for s in seasons["rows"] if s["season_type"] == "REG"]
    newest = max(reg, key=lambda s: s["season"])
    season, last = newest["season"], newest.get("last_week") or 1
    t = time.perf_counter()
    board = httpx.get(f"{base}/leaderboard", params={"season": season, "limit": 50}, timeout=120)
    cold = time.perf_counter() - t
    board.raise_for_status()
    ids = [r["passer_id"] for r in board.json()["rows"]] or ["00-0000000"]
    boards = [f"/leaderboard?season={season}&limit=50",
              f"/leaderboard?season={season}&limit=10&offset=10",
              f"/leaderboard?season={season}&game_week={last}",
              f"/leaderboard?season={season}&sort=cpoe&limit=20"]
    qbs: list[str] = []
    for pid in ids:
        qbs += [f"/qbs/{pid}", f"/qbs/{pid}/games?season={season}"]
    return boards, qbs, ids, {"season": season, "last_week": last, "qbs": len(ids),
                         "cold_leaderboard_ms": round(1000 * cold, 1)}


def cold_urls(season: int, last: int, ids: list[str]) -> list[str]:
    """Distinct URLs no earlier request asked for: season-to-date boards through each week,
    split boards, one-week boards, and QB pages of an earlier season."""
    urls = [f"/leaderboard?season={season}&week={w}&limit=25" for w in range(1, last)]
    urls += [f"/leaderboard?season={season}&split={s}" for s in
             ("deep", "short", "under_pressure", "red_zone", "trailing")]
    urls += [f"/leaderboard?season={season}&game_week={w}&limit=20" for w in range(1, last)]
    urls += [f"/qbs/{pid}/games?season={season - 1}" for pid in ids[:10]]
    return urls


def cold(port: int, urls: list[str]) -> dict[str, Any]:
    """Ask each URL once, one at a time: the latency of answers computed from the snapshot."""
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    ms: list[float] = []
    codes: Counter[str] = Counter()
    for url in urls:
        t = time.perf_counter()
        conn.request("GET", url)
        r = conn.getresponse()
        r.read()
        ms.append(1000 * (time.perf_counter() - t))
        codes[str(r.status)] += 1
    conn.close()
    a = np.asarray(ms)
    return {"requests": len(urls), "status": dict(codes),
            "p50_ms": round(float(np.percentile(a, 50)), 1),
            "p99_ms": round(float(np.percentile(a, 99)), 1), "max_ms": round(float(a.max()), 1)}


def open_loop(port: int, urls: list[str], rate: float, seconds: float,
              senders: int) -> dict[str, Any]:
    """Send `rate` requests/s on a fixed schedule spread over `senders` keep-alive
    connections; latency runs from each request's scheduled time to its full response."""
    n = int(rate * seconds)
    lat: list[float] = []
    status: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(senders + 1)
    t0_box: list[float] = []

    def sender(k: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        mine: list[float] = []
        codes: Counter[str] = Counter()
        start.wait()
        t0 = t0_box[0]
        for i in range(k, n, senders):
            due = t0 + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            try:
                conn.request("GET", urls[i % len(urls)])
                r = conn.getresponse()
                r.read()
                codes[str(r.status)] += 1
            except (OSError, http.client.HTTPException) as exc:
                codes[type(exc).__name__] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
            mine.append(1000 * (time.perf_counter() - due))
        conn.close()
        with lock:
            lat.extend(mine)
            status.update(codes)

    threads = [threading.Thread(target=sender, args=(k,), daemon=True) for k in range(senders)]
    for t in threads:
        t.start()
    t0_box.append(time.perf_counter() + 0.2)
    start.wait()
    for t in threads:
        t.join(seconds + 120)
    wall = time.perf_counter() - t0_box[0]
    a = np.asarray(lat, dtype=np.float64)
    return {"target_rate": rate, "seconds": round(wall, 2), "requests": len(lat),
            "achieved_rate": round(len(lat) / wall, 1), "senders": senders,
            "status": dict(status),
            "errors": sum(v for k, v in status.items() if not k.startswith(("2", "3"))),
            "latency_ms": {q: round(float(np.percentile(a, v)), 2) for q, v in
                           (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))}}


def load(port: int, boards: list[str], qbs: list[str], seconds: float,
         clients: int) -> dict[str, Any]:
    """`clients` threads, each with its own keep-alive connection, alternating a leaderboard
    and a QB request until the deadline (stdlib http.client: a light client, so the numbers
    measure the server, not the load generator)."""
    lat: dict[str, list[float]] = {"leaderboard": [], "qb": []}
    status: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    start = threading.Barrier(clients + 1)

    def worker(k: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        mine: dict[str, list[float]] = {"leaderboard": [], "qb": []}
        codes: Counter[str] = Counter()
        errs: Counter[str] = Counter()
        i = k
        start.wait()
        while time.monotonic() < deadline:
            kind = "leaderboard" if i % 2 == 0 else "qb"
            pool = boards if kind == "leaderboard" else qbs
            url = pool[(i // 2) % len(pool)]
            i += 1
            t = time.perf_counter()
            try:
                conn.request("GET", url)
                r = conn.getresponse()
                r.read()
                ms = 1000 * (time.perf_counter() - t)
                codes[str(r.status)] += 1
                if r.status >= 400:
                    errs[f"{r.status} {url.split('?')[0]}"] += 1
                else:
                    mine[kind].append(ms)
            except (OSError, http.client.HTTPException) as exc:
                errs[type(exc).__name__] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
        conn.close()
        with lock:
            for key, v in mine.items():
                lat[key] += v
            status.update(codes)
            errors.update(errs)

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join(seconds + 60)
    wall = time.perf_counter() - t0
    every = lat["leaderboard"] + lat["qb"]
    n_ok, n_err = len(every), sum(errors.values())

    def pct(a: list[float], q: float) -> float | None:
        return round(float(np.percentile(np.asarray(a, dtype=np.float64), q)), 2) if a else None

    return {
        "seconds": round(wall, 2), "clients": clients, "requests": n_ok + n_err,
        "requests_per_s": round((n_ok + n_err) / wall, 1), "ok": n_ok, "errors": n_err,
        "error_kinds": dict(errors), "status": dict(status),
        "latency_ms": {"p50": pct(every, 50), "p90": pct(every, 90), "p99": pct(every, 99),
                       "max": pct(every, 100)},
        "by_endpoint": {k: {"requests": len(v), "p50_ms": pct(v, 50), "p99_ms": pct(v, 99)}
                        for k, v in lat.items()},
    }


def workers_throughput(db: Path, seconds: float, clients: int) -> dict[str, Any]:
    """Closed-loop throughput of `passing-score serve --workers W` for W = 1 and 2, in turn,
    on the same warm URLs (the load generator shares the machine's CPUs with the server)."""
    out: dict[str, Any] = {}
    for w in (1, 2):
        port = free_port()
        base = f"http://{HOST}:{port}"
        proc = subprocess.Popen([sys.executable, "-m", "passing_score.pipeline.cli", "--db",
                                 str(db), "serve", "--port", str(port), "--workers", str(w)],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_ready(base, proc)
            boards, qbs, _, _ = targets(base)
            for _ in range(2 * w):  # warm every worker's cache (the kernel spreads sockets)
                cold(port, sorted(set(boards + qbs)))
            load_1m = os.getloadavg()[0]
            r = load(port, boards, qbs, seconds, clients)
            out[f"workers_{w}"] = {"requests_per_s": r["requests_per_s"],
                                   "latency_ms": r["latency_ms"], "errors": r["errors"],
                                   "load_average_1m_at_start": round(load_1m, 2)}
        finally:
            stop_server(proc)
    one, two = out["workers_1"]["requests_per_s"], out["workers_2"]["requests_per_s"]
    out["ratio_2_over_1"] = round(two / one, 2) if one else None
    return out


def run(db: Path, seconds: float, clients: int, rate: float,
        root: Path = ROOT) -> dict[str, Any] | None:
    """Start the server, measure, stop it; None (with a message) when there is nothing to do."""
    why = has_scores(db)
    if why:
        print(f"skipped: {why}")
        return None
    port = free_port()
    base = f"http://{HOST}:{port}"
    proc = start_server(db, port, root)
    try:
        health = wait_ready(base, proc)
        boards, qbs, ids, info = targets(base)
        first = cold(port, cold_urls(info["season"], info["last_week"], sorted(ids)))
        mixed = [u for i, q in enumerate(qbs) for u in (boards[i % len(boards)], q)]
        warm = cold(port, sorted(set(mixed)))  # the steady state polls answers already asked
        fixed = open_loop(port, mixed, rate, seconds, senders=min(clients, 64))
        result = load(port, boards, qbs, seconds, clients)
    finally:
        stop_server(proc)
    return {"db": str(db), "db_mib": round(db.stat().st_size / 2**20, 1),
            "model_version": health.get("model_version"), "app_root": str(root),
            "season_to_date_boards": health.get("season_to_date_boards"), **info,
            "cold_answers": first, "warm_up": warm, "open_loop": fixed, **result,
            "server": "uvicorn (asyncio, h11), 1 process, loopback"}


def main() -> int:
    """Parse arguments, run, print and write bench/results/api.json."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=Path(os.environ.get(
        "PASSING_SCORE_DB", ROOT / "data" / "warehouse.duckdb")))
    ap.add_argument("--seconds", type=float, default=30.0, help="load duration (default 30)")
    ap.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    ap.add_argument("--rate", type=float, default=500.0,
                    help="open-loop requests/s (default 500, the target)")
    ap.add_argument("--app-root", type=Path, default=ROOT,
                    help="serve reports.api from this checkout (before/after comparisons)")
    ap.add_argument("--name", default="api", help="result file name (default api)")
    args = ap.parse_args()
    if not 0 < args.seconds <= 3600 or not 0 < args.clients <= 1000:
        print("error: --seconds must be in (0, 3600] and --clients in (0, 1000]",
              file=sys.stderr)
        return 2
    result = run(args.db, args.seconds, args.clients, args.rate, args.app_root.resolve())
    if result is None:
        return 0
    if args.app_root.resolve() == ROOT:
        result["workers"] = workers_throughput(args.db, min(args.seconds, 15.0), args.clients)
    for k, v in result.items():
        print(f"{k}: {v}")
    write_result(args.name, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

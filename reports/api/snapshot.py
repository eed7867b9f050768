"""In-memory snapshots of the warehouse the API answers from.

A snapshot copies the tables answers read into an in-memory DuckDB, attaching the file
read-only only while copying, so the API never holds a lock the weekly job needs; while a
writer holds the file the last snapshot keeps answering, and a job's single transaction means
no half-written week is ever visible.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import duckdb

from passing_score.features.splits import split_columns
from passing_score.pipeline.foundation.errors import first_line
from passing_score.reports.api.cache import CACHE_MIB, AnswerCache

log = logging.getLogger("passing_score.api")

OPEN_TIMEOUT_S = 2.0  # how long a request waits for a writer to release the warehouse
FAIL_FAST_S = 0.5  # after a failed load, requests use the last snapshot (or 503) this long
CATALOG = "warehouse"
RETRY_AFTER_S = 2


class Unavailable(Exception):
    """The warehouse cannot be read right now (missing, locked by a writer, broken)."""

    def __init__(self, detail: str, retry_after: int = RETRY_AFTER_S) -> None:
        super().__init__(detail)
        self.detail, self.retry_after = detail, retry_after


# The tables (and columns; None = all) an answer may read, copied into each snapshot.
SNAPSHOT_TABLES: dict[str, list[str] | None] = {
    "qb_season_scores": None, "qb_game_scores": None, "play_predictions": None,
    "score_weights": None, "ingested_games": None, "ingest_log": None, "game_status": None,
    "dropbacks": ["game_id", "play_id", *split_columns()], "players": None,
}


class _Snapshot:
    """The API's tables copied into an in-memory DuckDB from one state of the warehouse file.

    The file is attached read-only only while copying (~0.2 s for nine seasons), so the API
    never holds a lock the weekly job needs, and every answer comes from one committed state:
    while a writer holds the file, requests keep being answered from the last snapshot.
    """

    def __init__(self, db: Path, token: str) -> None:
        self.token = token
        self.users = 0
        self.con = duckdb.connect(":memory:")
        try:
            path = str(db).replace("'", "''")
            self.con.execute(f"ATTACH '{path}' AS {CATALOG} (READ_ONLY)")
            try:
                have = {str(r[0]) for r in self.con.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = ?",
                    [CATALOG]).fetchall()}
                for table, cols in SNAPSHOT_TABLES.items():
                    if table in have:
                        cols_sql = "*" if cols is None else ", ".join(f'"{c}"' for c in cols)
                        self.con.execute(f"CREATE TABLE main.{table} AS SELECT {cols_sql} "
                                         f"FROM {CATALOG}.main.{table}")
            finally:
                self.con.execute(f"DETACH {CATALOG}")
        except BaseException:
            self.con.close()
            raise

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new connection to the snapshot (its own transaction and results)."""
        return self.con.cursor()

    def close(self) -> None:
        """Free the snapshot's memory."""
        self.con.close()


class Warehouse:
    """The DuckDB file behind the app, served from in-memory snapshots: a new snapshot is
    taken when the file changes, and the previous one keeps answering while a writer holds
    the file (or while the new one loads). Answers are cached per snapshot (`cache`)."""

    def __init__(self, db: Path, open_timeout: float = OPEN_TIMEOUT_S,
                 cache_mib: float = CACHE_MIB) -> None:
        self.db = Path(db)
        self.open_timeout = open_timeout
        self.cache = AnswerCache(cache_mib)
        self._lock = threading.Lock()  # guards the snapshots
        self._loading = threading.Lock()  # one thread takes a new snapshot at a time
        self._current: _Snapshot | None = None
        self._draining: list[_Snapshot] = []
        self._failed_at = -1e9
        self._attached = 0  # loads in progress (the file is attached only then)

    def token(self) -> str:
        """The file's state (inode, size, mtime of the db and its WAL): changes on a write."""
        parts = []
        for p in (self.db, self.db.with_name(self.db.name + ".wal")):
            try:
                st = p.stat()
                parts.append(f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}")
            except FileNotFoundError:
                parts.append("-")
        return "/".join(parts)

    def fresh_token(self) -> str | None:
        """The current snapshot's token when it matches the file (for the response cache)."""
        g = self._current
        if g is not None and g.token == self.token():
            return g.token
        return None

    def _use(self, g: _Snapshot) -> _Snapshot:
        with self._lock:
            g.users += 1
        return g

    def acquire(self) -> tuple[_Snapshot, duckdb.DuckDBPyConnection]:
        """A connection to the newest snapshot for one request. A changed file is loaded
        first (by one request; the others keep the previous snapshot meanwhile); Unavailable
        when there is no snapshot and the file is missing or held by a writer."""
        g = self._current_for(self.token())
        try:
            return g, g.cursor()
        except BaseException:
            self.release(g, None)
            raise

    def _current_for(self, token: str) -> _Snapshot:
        with self._lock:
            g = self._current
            if g is not None and (g.token == token or self._loading.locked()
                                  or time.monotonic() - self._failed_at < FAIL_FAST_S):
                g.users += 1
                return g
        if not self.db.exists():
            if g is not None:  # a swap in progress or a removed file: keep answering
                return self._use(g)
            raise Unavailable(f"warehouse {self.db.name} does not exist yet", 30)
        with self._loading:
            token = self.token()  # the file may have changed while this thread waited
            with self._lock:
                g = self._current
                if g is not None and g.token == token:
                    g.users += 1
                    return g
            try:
                return self._load(token, patient=g is None)
            except Unavailable:
                if g is None:
                    raise
                return self._use(g)  # a writer holds the file: the last snapshot answers

    def _load(self, token: str, patient: bool) -> _Snapshot:
        """Take a snapshot (retrying up to open_timeout while locked when there is no other
        to serve) and make it current; caller holds _loading."""
        deadline = time.monotonic() + (self.open_timeout if patient else 0.0)
        delay = 0.02
        while True:
            try:
                with self._lock:
                    self._attached += 1
                try:
                    g = _Snapshot(self.db, token)
                finally:
                    with self._lock:
                        self._attached -= 1
                break
            except duckdb.Error as exc:
                msg = first_line(exc)
                if time.monotonic() + delay > deadline:
                    self._failed_at = time.monotonic()
                    busy = any(w in msg.lower() for w in ("lock", "conflict", "in use"))
                    log.log(logging.INFO if busy else logging.WARNING,
                            "warehouse %s not readable: %s", self.db, msg)
                    raise Unavailable("the warehouse is being updated, retry shortly" if busy
                                      else "the warehouse cannot be opened") from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.25)
        with self._lock:
            old, self._current = self._current, g
            g.users += 1
            if old is not None:
                self._draining.append(old)
            self._reap_locked()
        return g

    def release(self, g: _Snapshot, cur: duckdb.DuckDBPyConnection | None) -> None:
        """End a request: close its connection; an outdated snapshot closes when drained."""
        if cur is not None:
            try:
                cur.close()
            except duckdb.Error:
                log.debug("closing a request connection failed", exc_info=True)
        with self._lock:
            g.users -= 1
            self._reap_locked()

    def _reap_locked(self) -> None:
        """Close outdated snapshots nobody uses any more."""
        keep = []
        for old in self._draining:
            if old.users == 0:
                old.close()
            else:
                keep.append(old)
        self._draining = keep

    def close(self) -> None:
        """Close every snapshot (app shutdown)."""
        with self._lock:
            for g in [*self._draining, *([self._current] if self._current else [])]:
                g.close()
            self._draining, self._current = [], None

    def holds_file(self) -> bool:
        """Whether the warehouse file is attached (only while a snapshot is being taken)."""
        with self._lock:
            return self._attached > 0

"""Build `dropbacks` from `plays`: set-based DuckDB SQL over whole seasons, incremental per game.

Every column comes from the registry in `features.columns`; this module prepares typed source
rows and helper columns, computes the opponent-defense table from earlier games only, and
writes the rows of the games that changed (plus the later games of their seasons, whose
opponent numbers depend on them) in one transaction.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from passing_score.features.columns import (
    K_ATTEMPTS,
    K_DROPBACKS,
    SOURCE_TYPES,
    SPECS,
    WEEK1_CMP,
    WEEK1_EPA,
)
from passing_score.pipeline.foundation import tables
from passing_score.pipeline.foundation.errors import WarehouseError, first_line
from passing_score.pipeline.foundation.warehouse import (
    fetch_one,
    require_table,
    table_columns,
    table_exists,
    transaction,
)

TABLE, LOG = "dropbacks", "dropbacks_log"
REQUIRED_SOURCE = ("game_id", "play_id", "qb_dropback")

# Passer name in the play text, as nflfastR parses it: "(Shotgun) P.Mahomes scrambles ...".
PASSER_RE = (r"([A-Z][A-Za-z]*\.\s?[A-Z][A-Za-z'\-]+(?:\s(?:II|III|IV|Jr\.))?)"
             r"\s+(?:pass|sacked|scrambles|spiked)")
THROWAWAY_RE = r"(?i)thr(own|ows|ew|ow) (the ball )?away"
BATTED_RE = r"(?i)batted|(tipped|deflected).{0,40}at (the )?line"
LATERAL_RE = r"(?i)\blateral"
ABORTED_RE = r"(?i)\baborted\b"
# One cheap pass over every description; the specific patterns above run only on its hits.
# Matched on lower(desc) as plain literals: RE2 runs a case-insensitive alternation about
# twice as slowly as lowering the text first (the same hits for ASCII text).
TEXT_PREFILTER_RE = r"away|batted|tipped|deflected|lateral"


@dataclass
class BuildReport:
    """What one build did: games rebuilt and removed, rows written, time taken."""

    games_rebuilt: int
    games_removed: int
    rows: int
    seconds: float
    full: bool = False
    games_changed: int = 0
    plays_in: int = 0
    rows_total: int = 0


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """First column of the first row of a query, as an int (0 when empty)."""
    row = fetch_one(con, sql)
    return int(row[0]) if row and row[0] is not None else 0


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _text(pattern: str) -> str:
    """SQL: the play text matches a flag pattern (evaluated only where the prefilter hit)."""
    regex = {"THROWAWAY_RE": THROWAWAY_RE, "BATTED_RE": BATTED_RE,
             "LATERAL_RE": LATERAL_RE}[pattern]
    return (f'CASE WHEN h1.text_hit THEN coalesce(regexp_matches(h1."desc", {_lit(regex)}), '
            "false) ELSE false END")


def _source_exprs(have: dict[str, str]) -> list[str]:
    """Typed projections of the source columns; absent optional columns read as typed NULLs."""
    out = []
    from_id = {"season": "substr(game_id, 1, 4)", "game_week": "substr(game_id, 6, 2)"}
    for name, typ in SOURCE_TYPES.items():
        if name not in have:
            e = f"CAST(NULL AS {typ})"
        elif have[name] == typ:
            e = _q(name)
        else:
            e = f"TRY_CAST({_q(name)} AS {typ})"
        if name in from_id:
            e = f"coalesce({e}, TRY_CAST({from_id[name]} AS BIGINT))"
        out.append(f"{e} AS {_q(name)}")
    return out


def _chain_sql(have: dict[str, str], seasons: list[int] | None) -> str:
    """CTEs ending in `rows`: typed dropbacks of `seasons` (None: all) with helper columns."""
    season_filter = "" if seasons is None else \
        f"WHERE season IN ({', '.join(str(int(s)) for s in seasons)})"
    names_cols = ", ".join(e for e in _source_exprs(have)
                           if e.endswith(('AS "game_id"', 'AS "posteam"', 'AS "passer"',
                                          'AS "passer_id"')))
    dropback = "qb_dropback" if have.get("qb_dropback") == "BIGINT" \
        else "TRY_CAST(qb_dropback AS BIGINT)"
    return f"""
WITH src AS (
  SELECT * FROM (
    SELECT {', '.join(_source_exprs(have))} FROM plays
    WHERE {dropback} = 1 AND game_id IS NOT NULL AND play_id IS NOT NULL
  ) {season_filter}
),
h1 AS (
  SELECT *,
    CASE WHEN passer_id IS NULL OR passer IS NULL
         THEN nullif(regexp_extract("desc", {_lit(PASSER_RE)}, 1), '') END AS name_desc,
    coalesce(pass_attempt, 0) = 1 AND coalesce(sack, 0) = 0 AS is_attempt,
    coalesce(sack, 0) = 1 AS is_sack,
    coalesce(qb_scramble, 0) = 1 AND coalesce(pass_attempt, 0) <> 1
      AND coalesce(sack, 0) = 0 AS is_scramble,
    CASE WHEN lower(trim(roof)) IN ('outdoors', 'dome', 'closed', 'open')
         THEN lower(trim(roof)) ELSE 'unknown' END AS roof_n,
    CASE WHEN contains(lower(surface), 'grass') THEN 'grass'
         WHEN contains(lower(surface), 'turf') THEN 'turf' ELSE 'unknown' END AS surface_n,
    coalesce(lower(trim(roof)) IN ('dome', 'closed'), false) AS is_indoor,
    CASE WHEN lower(trim(pass_location)) IN ('left', 'middle', 'right')
         THEN lower(trim(pass_location)) ELSE 'unknown' END AS pass_location_n,
    CASE WHEN lower(trim(pass_length)) IN ('short', 'deep')
         THEN lower(trim(pass_length)) ELSE 'unknown' END AS pass_length_n,
    CAST(round(epa * 1000000) AS BIGINT) AS epa_micro,
    coalesce(regexp_matches(lower("desc"), {_lit(TEXT_PREFILTER_RE)}), false) AS text_hit
  FROM src
),
names AS (
  SELECT game_id, posteam, passer, min(passer_id) AS pid, count(DISTINCT passer_id) AS n
  FROM (SELECT {names_cols} FROM plays
        WHERE {dropback} = 1 AND passer_id IS NOT NULL AND passer IS NOT NULL)
  GROUP BY ALL
),
h2 AS (
  SELECT h1.* EXCLUDE ("desc", text_hit, name_desc),
    coalesce(h1.passer_id, CASE WHEN nm.n = 1 THEN nm.pid END) AS qb_id,
    coalesce(h1.passer, h1.name_desc) AS qb_name,
    coalesce(h1.passer_id IS NULL AND nm.n = 1, false) AS passer_from_desc,
    coalesce(h1.play_type = 'no_play', false) AS is_nullified,
    coalesce(h1.two_point_attempt, 0) = 1 AS is_two_point,
    coalesce(h1.qb_spike, 0) = 1 OR coalesce(h1.play_type = 'qb_spike', false) AS is_spike,
    coalesce(h1.qb_kneel, 0) = 1 OR coalesce(h1.play_type = 'qb_kneel', false) AS is_kneel,
    coalesce(h1.aborted_play = 1,
             regexp_matches(h1."desc", {_lit(ABORTED_RE)}), false) AS is_aborted,
    {_text("THROWAWAY_RE")} AS is_throwaway,
    h1.is_attempt AND {_text("BATTED_RE")} AS is_batted,
    h1.lateral_receiving_yards IS NOT NULL OR h1.lateral_rushing_yards IS NOT NULL
      OR {_text("LATERAL_RE")} AS is_lateral
  FROM h1 LEFT JOIN names nm
    ON nm.game_id = h1.game_id AND nm.posteam = h1.posteam AND nm.passer = h1.name_desc
),
h3 AS (
  SELECT *,
    NOT is_two_point AND NOT is_spike AND coalesce(
      down NOT BETWEEN 1 AND 4 OR ydstogo NOT BETWEEN 1 AND 99
      OR yardline_100 NOT BETWEEN 1 AND 99 OR ydstogo > yardline_100
      OR qtr NOT BETWEEN 1 AND 6 OR game_seconds_remaining NOT BETWEEN 0 AND 3600
      OR half_seconds_remaining NOT BETWEEN 0 AND 1800
      OR posteam_timeouts_remaining NOT BETWEEN 0 AND 3
      OR defteam_timeouts_remaining NOT BETWEEN 0 AND 3
      OR NOT (xpass BETWEEN 0 AND 1) OR score_differential IS NULL OR posteam = defteam,
      true) AS is_bad_context
  FROM h2
),
rows AS (
  SELECT *,
    NOT (is_nullified OR is_two_point OR is_spike OR is_kneel OR is_aborted OR is_bad_context)
      AND qb_id IS NOT NULL AS model_eligible
  FROM h3
)"""


def _rows_sql(have: dict[str, str], seasons: list[int] | None) -> str:
    """SELECT of the `dropbacks` rows of the games in `_dropbacks_rebuild` (registry order).

    The opponent numbers use every game of the seasons read, but each game only sees the
    defense's (and the league's) games with a smaller week and an earlier date, so games of
    the same week never see each other. EPA is summed as integer micro-points: values do not
    depend on summation order and a rebuild reproduces them bit for bit.
    """
    prior = ("p.season = t.season AND p.game_week < t.game_week AND (p.game_date IS NULL OR "
             "t.game_date IS NULL OR p.game_date < t.game_date)")
    final = ",\n  ".join(f"TRY_CAST({s.expr} AS {s.dtype}) AS {_q(s.name)}" for s in SPECS)
    return _chain_sql(have, seasons) + f""",
games AS (
  SELECT game_id, min(season) AS season, min(game_week) AS game_week,
         min(game_date) AS game_date
  FROM rows GROUP BY game_id
),
dg AS (
  SELECT d.*, g.season, g.game_week, g.game_date FROM (
    SELECT game_id, defteam,
      count(*) FILTER (WHERE model_eligible AND epa_micro IS NOT NULL) AS n_db,
      coalesce(sum(epa_micro) FILTER (WHERE model_eligible), 0) AS e_db,
      count(*) FILTER (WHERE model_eligible AND is_attempt) AS n_att,
      count(*) FILTER (WHERE model_eligible AND is_attempt
                       AND coalesce(complete_pass, 0) = 1) AS n_cmp
    FROM rows WHERE defteam IS NOT NULL GROUP BY game_id, defteam
  ) d JOIN games g USING (game_id)
),
targets AS (
  SELECT t.game_id, t.defteam, g.season, g.game_week, g.game_date
  FROM (SELECT game_id, defteam FROM dg
        WHERE game_id IN (SELECT game_id FROM _dropbacks_rebuild)) t
  JOIN games g USING (game_id)
),
opp AS (
  SELECT t.game_id, t.defteam, count(p.game_id) AS games, coalesce(sum(p.n_db), 0) AS n,
         coalesce(sum(p.e_db), 0) AS e, coalesce(sum(p.n_att), 0) AS a,
         coalesce(sum(p.n_cmp), 0) AS c
  FROM targets t LEFT JOIN dg p ON p.defteam = t.defteam AND {prior}
  GROUP BY t.game_id, t.defteam
),
league AS (
  SELECT t.game_id,
    CASE WHEN coalesce(sum(p.n_db), 0) > 0
         THEN CAST(sum(p.e_db) AS DOUBLE) / 1000000 / CAST(sum(p.n_db) AS DOUBLE)
         ELSE {WEEK1_EPA} END AS prior_epa,
    CASE WHEN coalesce(sum(p.n_att), 0) > 0
         THEN CAST(sum(p.n_cmp) AS DOUBLE) / CAST(sum(p.n_att) AS DOUBLE)
         ELSE {WEEK1_CMP} END AS prior_cmp
  FROM (SELECT DISTINCT game_id, season, game_week, game_date FROM targets) t
  LEFT JOIN dg p ON {prior}
  GROUP BY t.game_id
),
oppv AS (
  SELECT o.game_id, o.defteam, o.games AS opp_def_games, o.n AS opp_def_dropbacks,
    (CAST(o.e AS DOUBLE) / 1000000 + {K_DROPBACKS} * l.prior_epa)
      / (CAST(o.n AS DOUBLE) + {K_DROPBACKS}) AS opp_def_epa_per_db,
    (CAST(o.c AS DOUBLE) + {K_ATTEMPTS} * l.prior_cmp)
      / (CAST(o.a AS DOUBLE) + {K_ATTEMPTS}) AS opp_def_cmp_rate
  FROM opp o JOIN league l USING (game_id)
)
SELECT
  {final}
FROM (SELECT * FROM rows WHERE game_id IN (SELECT game_id FROM _dropbacks_rebuild)) AS r
LEFT JOIN oppv USING (game_id, defteam)
"""


def spec_hash() -> str:
    """Fingerprint of the build's SQL: rows built by other code are rebuilt, not mixed in."""
    return hashlib.sha256(_rows_sql(dict(SOURCE_TYPES), None).encode()).hexdigest()[:16]


def _up_to_date(con: duckdb.DuckDBPyConnection, spec: str) -> bool:
    """Whether the stored table and log were made by this registry and this SQL."""
    if not table_exists(con, TABLE) or not table_exists(con, LOG) \
            or not tables.has_key(con, TABLE):
        return False
    if list(table_columns(con, TABLE).items()) != [(s.name, s.dtype) for s in SPECS]:
        return False
    if "spec" not in table_columns(con, LOG):
        return False
    return _count(con, f"SELECT count(*) FROM {LOG} WHERE spec <> {_lit(spec)}") == 0


def _plan(con: duckdb.DuckDBPyConnection, full: bool, have: dict[str, str],
          spec: str) -> tuple[bool, list[int] | None, int, int]:
    """Fill `_dropbacks_rebuild` / `_dropbacks_removed`; return (full, seasons, changed, plays).

    A changed game (new, re-ingested) or a removed one invalidates its own rows and the
    opponent numbers of every later game of its season, so the rebuild set is every game of
    that season from the earliest changed week on. Games without `ingested_at` are always
    rebuilt; a table or log made by other code (columns, SQL) means a full rebuild.
    """
    week = ("coalesce(TRY_CAST(game_week AS BIGINT), TRY_CAST(substr(game_id, 6, 2) AS BIGINT))"
            if "game_week" in have else "TRY_CAST(substr(game_id, 6, 2) AS BIGINT)")
    season = ("coalesce(TRY_CAST(season AS BIGINT), TRY_CAST(substr(game_id, 1, 4) AS BIGINT))"
              if "season" in have else "TRY_CAST(substr(game_id, 1, 4) AS BIGINT)")
    ing = "max(TRY_CAST(ingested_at AS TIMESTAMP))" if "ingested_at" in have \
        else "CAST(NULL AS TIMESTAMP)"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _dropbacks_games AS
        SELECT game_id, min({season}) AS season, min({week}) AS game_week,
               {ing} AS ingested_at, count(*) AS n_plays
        FROM plays WHERE game_id IS NOT NULL GROUP BY game_id""")
    full = full or not _up_to_date(con, spec)
    if table_exists(con, LOG):
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _dropbacks_removed AS
            SELECT game_id FROM {LOG} ANTI JOIN _dropbacks_games USING (game_id)""")
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE _dropbacks_removed AS "
                    "SELECT CAST(NULL AS VARCHAR) AS game_id WHERE false")
    if full:
        con.execute("CREATE OR REPLACE TEMP TABLE _dropbacks_rebuild AS "
                    "SELECT game_id FROM _dropbacks_games")
        n = fetch_one(con, "SELECT count(*), coalesce(sum(n_plays), 0) FROM _dropbacks_games")
        assert n is not None
        return True, None, int(n[0]), int(n[1])
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _dropbacks_changed AS
        SELECT g.game_id, g.season, g.game_week FROM _dropbacks_games g
        LEFT JOIN {LOG} l USING (game_id)
        WHERE l.game_id IS NULL OR g.ingested_at IS NULL
           OR l.ingested_at IS DISTINCT FROM g.ingested_at
        UNION ALL
        SELECT l.game_id, TRY_CAST(substr(l.game_id, 1, 4) AS BIGINT),
               TRY_CAST(substr(l.game_id, 6, 2) AS BIGINT)
        FROM {LOG} l ANTI JOIN _dropbacks_games g USING (game_id)""")
    con.execute("""CREATE OR REPLACE TEMP TABLE _dropbacks_rebuild AS
        SELECT g.game_id FROM _dropbacks_games g JOIN (
          SELECT season, min(game_week) AS w0 FROM _dropbacks_changed GROUP BY season) c
        ON g.season = c.season AND (g.game_week >= c.w0 OR g.game_week IS NULL OR c.w0 IS NULL)
        UNION SELECT game_id FROM _dropbacks_changed WHERE season IS NULL""")
    changed = fetch_one(con, "SELECT count(*), count(*) FILTER (WHERE season IS NULL) "
                        "FROM _dropbacks_changed")
    assert changed is not None
    if changed[1]:  # a game id that names no season: play safe
        return _plan(con, True, have, spec)
    rows = con.execute("SELECT DISTINCT season FROM _dropbacks_changed ORDER BY 1").fetchall()
    seasons = [int(r[0]) for r in rows]
    n = fetch_one(con, "SELECT coalesce(sum(n_plays), 0) FROM _dropbacks_games WHERE season IN "
                  "(SELECT season FROM _dropbacks_changed)")
    return False, seasons, int(changed[0]), int(n[0]) if n else 0


def build_dropbacks(con: duckdb.DuckDBPyConnection, full: bool = False,
                    on_progress: Callable[[int, int], None] | None = None) -> BuildReport:
    """Build or update `dropbacks` from `plays` in one transaction (a failure keeps the old table).

    Only games ingested since the last build (and the later games of their seasons) are
    rebuilt unless `full`; a full rebuild gives identical rows. `on_progress(done, total)`
    counts games to rebuild: called once planned (0, n) and once written (n, n).
    """
    start = time.perf_counter()
    require_table(con, "plays", "run `passing-score ingest` first")
    have = table_columns(con, "plays")
    missing = [c for c in REQUIRED_SOURCE if c not in have]
    if missing:
        raise WarehouseError(f"table 'plays' lacks column {missing[0]!r}: re-ingest the "
                             "play-by-play with `passing-score ingest`")
    try:
        with transaction(con):
            spec = spec_hash()
            full, seasons, changed, plays_in = _plan(con, full, have, spec)
            n_rebuild = _count(con, "SELECT count(*) FROM _dropbacks_rebuild")
            n_removed = _count(con, "SELECT count(*) FROM _dropbacks_removed")
            if on_progress is not None:
                on_progress(0, n_rebuild)
            if full:
                tables.create_as(con, TABLE, _rows_sql(have, None))
                con.execute(f"DROP TABLE IF EXISTS {LOG}")
                tables.create(con, LOG)
                rows = _count(con, f"SELECT count(*) FROM {TABLE}")
            elif n_rebuild or n_removed:
                con.execute(f"DELETE FROM {TABLE} WHERE game_id IN (SELECT game_id FROM "
                            "_dropbacks_rebuild UNION ALL SELECT game_id FROM _dropbacks_removed)")
                before = _count(con, f"SELECT count(*) FROM {TABLE}")
                con.execute(f"INSERT INTO {TABLE} {_rows_sql(have, seasons)}")
                rows = _count(con, f"SELECT count(*) FROM {TABLE}") - before
                con.execute(f"DELETE FROM {LOG} WHERE game_id IN (SELECT game_id FROM "
                            "_dropbacks_rebuild UNION ALL SELECT game_id FROM _dropbacks_removed)")
            else:
                rows = 0
            con.execute(f"INSERT INTO {LOG} SELECT game_id, ingested_at, now()::TIMESTAMP, ? "
                        "FROM _dropbacks_games WHERE game_id IN "
                        "(SELECT game_id FROM _dropbacks_rebuild)", [spec])
            total = _count(con, f"SELECT count(*) FROM {TABLE}")
            for t in ("_dropbacks_games", "_dropbacks_rebuild", "_dropbacks_removed",
                      "_dropbacks_changed"):
                con.execute(f"DROP TABLE IF EXISTS {t}")
    except duckdb.Error as exc:
        msg = first_line(exc)[:300]
        raise WarehouseError(f"building {TABLE} failed (previous table kept): {msg}") from exc
    if on_progress is not None:
        on_progress(n_rebuild, n_rebuild)
    return BuildReport(games_rebuilt=n_rebuild, games_removed=n_removed, rows=rows,
                       seconds=time.perf_counter() - start, full=full,
                       games_changed=changed, plays_in=plays_in, rows_total=total)

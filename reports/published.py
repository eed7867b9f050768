"""The served tables as parquet files (`passing-score export --out DIR`): what the API answers
from, for readers that query files directly (DuckDB over object storage, Spark, Trino).

Files are written into a temporary folder beside DIR and swapped in whole, with a
`manifest.json` naming the model versions, the row counts and the export time, so a reader
listing DIR sees one consistent export or the previous one.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import duckdb

from passing_score.pipeline.foundation.errors import InputError
from passing_score.pipeline.foundation.warehouse import table_exists

SERVED = ("qb_season_scores", "qb_game_scores", "play_predictions", "score_weights",
          "game_status", "ingested_games")


def export_tables(con: duckdb.DuckDBPyConnection, out: Path) -> dict[str, int]:
    """Write every served table of the warehouse as `<table>.parquet` under `out` (replaced
    whole); returns rows per table."""
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    if not table_exists(con, "qb_season_scores"):
        raise InputError("the warehouse holds no scores yet: run `passing-score score` first")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    rows: dict[str, int] = {}
    try:
        for t in SERVED:
            if not table_exists(con, t):
                continue
            path = str(tmp / f"{t}.parquet").replace("'", "''")
            con.execute(f"COPY (SELECT * FROM {t}) TO '{path}' (FORMAT parquet, "
                        "COMPRESSION zstd)")
            row = con.execute(f"SELECT count(*) FROM {t}").fetchall()
            rows[t] = int(row[0][0])
        versions = [r[0] for r in con.execute(
            "SELECT DISTINCT model_version FROM qb_season_scores ORDER BY 1").fetchall()]
        (tmp / "manifest.json").write_text(json.dumps({
            "tables": rows, "model_versions": versions,
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=2) + "\n")
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if out.exists():
            out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return rows

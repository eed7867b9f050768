"""Football splits of the leaderboard: valid SQL over dropbacks, partitions that add up."""

from __future__ import annotations

import duckdb
import pytest

from passing_score.features.build import build_dropbacks
from passing_score.features.splits import SPLITS, get_split
from passing_score.pipeline.foundation.errors import InputError
from passing_score.pipeline.foundation.warehouse import transaction
from passing_score.pipeline.ingest.store import write_games
from passing_score.pipeline.ingest.validate import validate_plays
from tests.factories.pbp import make_pbp


def _count(con: duckdb.DuckDBPyConnection, pred: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM dropbacks d WHERE {pred}").fetchall()[0][0])


def test_splits_partition_the_dropbacks(con: duckdb.DuckDBPyConnection) -> None:
    with transaction(con):
        write_games(con, validate_plays(make_pbp(weeks=(1, 2, 3)), "syn"), "test", "syn")
    build_dropbacks(con, full=True)
    counts = {name: _count(con, s.sql) for name, s in SPLITS.items()}
    throws = _count(con, "d.air_yards IS NOT NULL")
    assert throws > 0
    assert counts["deep"] + counts["intermediate"] + counts["short"] + counts["behind_los"] \
        == throws
    assert counts["under_pressure"] + counts["clean_pocket"] == _count(con, "TRUE")
    assert 0 < counts["red_zone"] < throws
    assert all(v > 0 for k, v in counts.items() if k != "behind_los")


def test_unknown_split_is_one_line() -> None:
    with pytest.raises(InputError, match="is not one of deep"):
        get_split("blitzed")
    assert get_split("deep").columns == ["air_yards"]

"""Load one season through each source (local parquet, nfl_data_py's cache, nflreadpy's cache)
with our Batch path (load + checksum + validation) and with the raw library call, offline."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl

from bench.common import best_of, peak_rss_mib, shared_pbp, write_result
from passing_score.pipeline.ingest.sources import (
    Batch,
    LocalSource,
    NflDataPySource,
    NflreadpySource,
    frame_checksum,
)
from passing_score.pipeline.ingest.validate import validate_plays


def through_batch(make_batches: Callable[[], list[Batch]]) -> pl.DataFrame:
    """What ingest does before writing: list the batch, load, checksum, validate."""
    (batch,) = make_batches()
    raw = batch.load()
    _ = batch.checksum or frame_checksum(raw)
    return validate_plays(raw, batch.key)


def ndp_cache(src: Path, season: int, tmp: Path) -> Path:
    """An nfl_data_py cache folder (`DIR/season=YYYY/*.parquet`) holding a copy of the file."""
    cache = tmp / "nfl_data_py"
    (cache / f"season={season}").mkdir(parents=True)
    shutil.copy(src, cache / f"season={season}" / "part.parquet")
    return cache


def nflreadpy_cache(src: Path, season: int, tmp: Path) -> None:
    """Point nflreadpy at a filesystem cache holding a copy of the file under its own key."""
    import nflreadpy
    from nflreadpy.cache import get_cache_manager
    from nflreadpy.config import update_config
    from nflreadpy.downloader import get_downloader

    cache = tmp / "nflreadpy"
    update_config(cache_mode="filesystem", cache_dir=cache, cache_duration=10**9)
    url = get_downloader()._build_url("nflverse-data", f"pbp/play_by_play_{season}",
                                      nflreadpy.downloader.DataFormat.PARQUET)
    key = get_cache_manager()._get_cache_key(url, season=season)
    cache.mkdir()
    shutil.copy(src, cache / f"{key}.parquet")


def figures(rows: int, ours: float, raw: float, local_ours: float | None,
            local_raw: float | None) -> dict[str, Any]:
    """Seconds, rows/s and the ratio to the local path for one source."""
    out: dict[str, Any] = {"ours_seconds": round(ours, 3), "ours_rows_per_s": round(rows / ours),
                           "raw_library_seconds": round(raw, 3),
                           "raw_rows_per_s": round(rows / raw)}
    if local_ours is not None and local_raw is not None:
        out["ratio_ours_vs_local_time"] = round(ours / local_ours, 2)
        out["ratio_raw_vs_local_raw_time"] = round(raw / local_raw, 2)
    return out


def main() -> None:
    """Time the three sources best of 3 and write bench/results/sources.json."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--season", type=int, default=2023)
    args = ap.parse_args()
    season = args.season
    src = shared_pbp() / str(season) / f"play_by_play_{season}.parquet"
    if not src.is_file():
        print(f"skip: {src} not found")
        return
    load_before = os.getloadavg()
    truth = pl.read_parquet(src, columns=["game_id", "epa"])
    rows = truth.height
    result: dict[str, Any] = {"season": season, "plays": rows,
                              "games": truth["game_id"].n_unique()}

    local = LocalSource(src)
    df = through_batch(lambda: list(local.batches([season])))
    assert df.height == rows
    t_local = best_of(lambda: through_batch(lambda: list(local.batches([season]))))
    t_local_raw = best_of(lambda: pl.read_parquet(src))
    result["local"] = {**figures(rows, t_local, t_local_raw, None, None),
                       "raw_call": "polars.read_parquet(shared file)",
                       "ours_includes": "sha256 of the file, read, validation"}

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        try:
            import nfl_data_py
        except ImportError:
            result["nfl_data_py"] = {"skipped": "nfl_data_py not installed (make nfl-data-py)"}
        else:
            cache = ndp_cache(src, season, tmp)
            ndp = NflDataPySource(cache)
            df = through_batch(lambda: list(ndp.batches([season])))
            assert df.height == rows
            # downcast=False: float64 kept, the sums match the source file
            assert abs(df["epa"].sum() - truth["epa"].sum()) < 1e-6 * abs(truth["epa"].sum())

            def ndp_raw() -> Any:
                with contextlib.redirect_stdout(io.StringIO()):
                    return nfl_data_py.import_pbp_data(
                        [season], downcast=False, include_participation=False, cache=True,
                        alt_path=str(cache))

            assert len(ndp_raw()) == rows
            result["nfl_data_py"] = {
                **figures(rows, best_of(lambda: through_batch(lambda: list(ndp.batches([season])))),
                          best_of(ndp_raw), t_local, t_local_raw),
                "raw_call": "nfl_data_py.import_pbp_data(cache=True, alt_path, downcast=False, "
                            "include_participation=False) -> pandas",
                "ours_includes": "the raw call, pandas -> polars, content hash, validation"}

        try:
            import nflreadpy
            from nflreadpy.config import reset_config
        except ImportError:
            result["nflreadpy"] = {"skipped": "nflreadpy not installed"}
        else:
            nflreadpy_cache(src, season, tmp)
            try:
                nrp = NflreadpySource()
                df = through_batch(lambda: list(nrp.batches([season])))
                assert df.height == rows
                assert nflreadpy.load_pbp([season]).height == rows
                result["nflreadpy"] = {
                    **figures(rows,
                              best_of(lambda: through_batch(lambda: list(nrp.batches([season])))),
                              best_of(lambda: nflreadpy.load_pbp([season])), t_local,
                              t_local_raw),
                    "raw_call": "nflreadpy.load_pbp([season]) from its filesystem cache -> polars",
                    "ours_includes": "the raw call, content hash, validation"}
            finally:
                reset_config()

    result["peak_rss_mib"] = round(peak_rss_mib(), 1)
    result["load_average_before"] = [round(x, 2) for x in load_before]
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    result["note"] = ("best of 3, offline: the caches are copies of the shared file laid out as "
                      "each library expects, in a tempdir; ratios are time over the local path "
                      "(>1 = slower than local)")
    write_result("sources", result)


if __name__ == "__main__":
    main()

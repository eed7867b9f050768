"""Loading the compiled kernels ahead of their first use, on a background thread.

numba loads a cached kernel on its first call, and that first call also builds numba's CPU
target (its typing and lowering registries): ~0.5 s of start-up in every weekly update and
live game. The jobs start this thread before ingest, whose DuckDB and polars work releases
the GIL, so the two overlap on a second core instead of running one after the other.
"""

from __future__ import annotations

import threading

import numpy as np

from passing_score.models.inference.scorer import Scorer


def warm(sc: Scorer) -> None:
    """Call every kernel the scorer uses once, on one row of zeros of the dtypes scoring passes
    (the same compiled signatures, so scoring finds them loaded)."""
    from passing_score.models.inference import kernels as k

    for t in sc.trees.values():
        t.raw(np.zeros((1, int(t.arrays["feature"].max()) + 1), np.float32))
    zeros, y = np.zeros(1), np.zeros(1)
    for kind, (a, b) in enumerate((("air_yards", "air_yards"), ("yac", "yac"),
                                   ("sack_yards", "gain_yards"), ("sack_yards", "gain_yards"))):
        if a not in sc.nets or b not in sc.nets:
            continue
        na, nb = sc.nets[a], sc.nets[b]
        raw_a = na.raw(np.zeros((1, na.weights[0].shape[1]), np.float32))
        raw_b = nb.raw(np.zeros((1 if kind >= 2 else 0, nb.weights[0].shape[1]), np.float32))
        k.summaries(kind, raw_a, na.cfg, raw_b, nb.cfg, np.zeros((1, 3)), zeros, zeros, y)
    k.ndtri_clipped(np.full(1, 0.5), 0.001, 0.999)


def warm_in_background(sc: Scorer) -> threading.Thread:
    """Start `warm(sc)` on a daemon thread; a failure there is left for scoring to report."""

    def run() -> None:
        try:
            warm(sc)
        except Exception:
            return

    thread = threading.Thread(target=run, name="warm-kernels", daemon=True)
    thread.start()
    return thread

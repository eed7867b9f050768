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
    """Call each kernel the scorer uses once, on one row of zeros of the dtypes scoring passes.
    numba compiles per argument types, so one call loads the one signature that every tree
    ensemble (all share the arrays' dtypes) and every kind of yards summary then use."""
    from passing_score.models.inference import kernels as k

    trees = next(iter(sc.trees.values()))
    trees.raw(np.zeros((1, int(trees.arrays["feature"].max()) + 1), np.float32))
    net = next(iter(sc.nets.values()))
    raw = net.raw(np.zeros((1, net.weights[0].shape[1]), np.float32))
    one = np.zeros(1)
    k.summaries(0, raw, net.cfg, raw[:0], net.cfg, np.zeros((1, 3)), one, one, one)
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

"""Benchmark: SBP ``log_prob`` / ``cdf`` throughput, ours vs GluonTS, same batch, same run.

Usage: ``python bench/bench_sbp.py [--points 1000000] [--bins 100] [--repeats 3]``.
Writes ``bench/results/sbp.json``. GluonTS (``pip install gluonts lightning``) is optional:
without it the file records ``"gluonts": null`` and the import error.

Two scenarios, float32, 2 torch threads, each timing includes constructing the
distribution (GluonTS defers all work to the call, ours precomputes per-row statistics):

* ``per_point``: every point has its own parameters (logits ``(N, K)``), as when a model
  emits one distribution per observation. This is the only layout GluonTS supports.
* ``shared``: one parameter set evaluated at N points; ours uses batch shape ``()``, GluonTS
  gets the same parameters expanded (as views) to ``(N, K)``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from passing_score.models.sbp import SplicedBinnedPareto  # noqa: E402

LOW, HIGH, ALPHA = -5.0, 5.0, 0.05


def best_time(fn: Callable[[], Any], repeats: int) -> float:
    """Best wall time of ``repeats`` calls (after one warm-up call)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def make_inputs(n: int, k: int, shared: bool, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random parameters and evaluation points (half the points land in the tails' region)."""
    g = torch.Generator().manual_seed(seed)
    rows = () if shared else (n,)
    return {
        "logits": torch.randn(*rows, k, generator=g),
        "lower_xi": 0.05 + 0.3 * torch.rand(rows, generator=g),
        "lower_beta": 0.5 + torch.rand(rows, generator=g),
        "upper_xi": 0.05 + 0.3 * torch.rand(rows, generator=g),
        "upper_beta": 0.5 + torch.rand(rows, generator=g),
        "x": 3.0 * torch.randn(n, generator=g),
    }


def ours_fns(inp: dict[str, torch.Tensor]) -> dict[str, Callable[[], torch.Tensor]]:
    """Construct-and-evaluate closures for our implementation."""

    def make() -> SplicedBinnedPareto:
        return SplicedBinnedPareto(
            inp["logits"], LOW, HIGH, inp["lower_xi"], inp["lower_beta"],
            inp["upper_xi"], inp["upper_beta"], alpha=ALPHA, validate_args=False,
        )  # fmt: skip

    return {"log_prob": lambda: make().log_prob(inp["x"]), "cdf": lambda: make().cdf(inp["x"])}


def gluonts_fns(
    inp: dict[str, torch.Tensor], n: int, k: int
) -> dict[str, Callable[[], torch.Tensor]]:
    """The same for ``gluonts.torch.distributions.SplicedBinnedPareto`` (batch ``(N,)``)."""
    from gluonts.torch.distributions import SplicedBinnedPareto as GluonSBP

    def col(v: torch.Tensor) -> torch.Tensor:  # GluonTS wants tail params as (*batch, 1)
        return v.expand(n).unsqueeze(-1) if v.dim() == 0 else v.unsqueeze(-1)

    logits = inp["logits"].expand(n, k)

    def make() -> Any:
        return GluonSBP(
            LOW, HIGH, logits, col(inp["upper_xi"]), col(inp["upper_beta"]),
            col(inp["lower_xi"]), col(inp["lower_beta"]), numb_bins=k,
            tail_percentile_gen_pareto=ALPHA, validate_args=False,
        )  # fmt: skip

    return {"log_prob": lambda: make().log_prob(inp["x"]), "cdf": lambda: make().cdf(inp["x"])}


def cdf_agreement(inp: dict[str, torch.Tensor], n: int, k: int, m: int = 20_000) -> float:
    """Max |cdf_ours - cdf_gluonts| on the first ``m`` points (same model, xi > 0)."""
    sub = {key: (v[:m] if v.dim() >= 1 and v.shape[0] == n else v) for key, v in inp.items()}
    ours = ours_fns(sub)["cdf"]()
    theirs = gluonts_fns(sub, m, k)["cdf"]()
    return float((ours.double() - theirs.double()).abs().max())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--bins", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "sbp.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    n, k = args.points, args.bins
    warnings.filterwarnings("ignore")

    gluonts_error: str | None = None
    try:
        import gluonts  # noqa: F401
        from gluonts.torch.distributions import SplicedBinnedPareto as _  # noqa: F401
    except Exception as exc:  # any import problem: record it, still bench ours
        gluonts_error = f"{type(exc).__name__}: {exc}"

    ours: dict[str, dict[str, float]] = {}
    theirs: dict[str, dict[str, float]] | None = None if gluonts_error else {}
    ratios: dict[str, dict[str, float]] = {}
    agreement: dict[str, float] = {}
    load_before = os.getloadavg()
    for scenario in ("per_point", "shared"):
        inp = make_inputs(n, k, shared=scenario == "shared")
        fns = ours_fns(inp)
        ours[scenario] = {name: n / best_time(fn, args.repeats) for name, fn in fns.items()}
        print(f"ours    {scenario:9s}", {m: f"{v:,.0f} pts/s" for m, v in ours[scenario].items()})
        if theirs is not None:
            gfns = gluonts_fns(inp, n, k)
            theirs[scenario] = {name: n / best_time(fn, args.repeats) for name, fn in gfns.items()}
            ratios[scenario] = {m: ours[scenario][m] / theirs[scenario][m] for m in fns}
            agreement[scenario] = cdf_agreement(inp, n, k)
            print(
                f"gluonts {scenario:9s}",
                {m: f"{v:,.0f} pts/s" for m, v in theirs[scenario].items()},
                "ratio",
                {m: f"{v:.1f}x" for m, v in ratios[scenario].items()},
                f"max|cdf diff| {agreement[scenario]:.2e}",
            )

    result: dict[str, Any] = {
        "units": "points per second (best of repeats, construction included)",
        "n_points": n,
        "n_bins": k,
        "dtype": "float32",
        "repeats": args.repeats,
        "ours": ours,
        "gluonts": theirs,
        "ratios": ratios or None,
        "cdf_max_abs_diff_vs_gluonts": agreement or None,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
        },
    }
    if gluonts_error:
        result["gluonts_error"] = gluonts_error
    else:
        from importlib.metadata import version

        result["machine"]["gluonts"] = version("gluonts")
    result["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

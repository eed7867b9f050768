"""Terminal tables of the play-model evaluation (what `passing-score evaluate` prints)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

BINARY_COLS = ("log_loss", "brier", "auc", "calibration_error", "n")
YARDS_COLS = ("nll", "crps", "lower", "body", "upper", "0.01", "0.05", "0.95", "0.99", "n")


def _fmt(v: Any) -> str:
    if isinstance(v, int):
        return f"{v:,}"
    if v is None or v != v:
        return "-"
    return f"{v:.4f}"


def evaluation_tables(result: dict[str, Any]) -> list[Table]:
    """One table per target: a row per model, our model's row in bold."""
    tables = []
    for target, block in result.items():
        if not isinstance(block, dict) or "ours" not in block:
            continue
        binary = "log_loss" in block["ours"]
        cols = BINARY_COLS if binary else YARDS_COLS
        t = Table(title=f"{target} (holdout {result['holdout_season']})")
        t.add_column("model")
        for c in cols:
            t.add_column(c if binary or c in ("nll", "crps", "n") else
                         (f"cov {c}" if c in ("lower", "body", "upper") else f"<q{c}"),
                         justify="right")
        for model, m in block.items():
            if binary:
                vals = [m[c] for c in cols]
            else:
                vals = [m["nll"], m["crps"], *(m["coverage_error"][c] for c in
                                               ("lower", "body", "upper")),
                        *(m["share_below"][c] for c in ("0.01", "0.05", "0.95", "0.99")),
                        m["n"]]
            t.add_row(model, *(_fmt(v) for v in vals), style="bold" if model == "ours" else "")
        tables.append(t)
    return tables


def print_evaluation(result: dict[str, Any], console: Console) -> None:
    """Print the evaluation tables and which model versions were used."""
    console.print(f"model {result['model_version']} (train {result['train_seasons']}, "
                  f"validation {result['val_season']}; trained now: {result['trained_now']})")
    for t in evaluation_tables(result):
        console.print(t)

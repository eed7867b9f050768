"""Tables of the rolling-origin evaluation (`passing-score evaluate --rolling`): terminal tables,
and the markdown tables that `--markdown PATH` writes into docs/models.md between the markers
`<!-- rolling:begin -->` and `<!-- rolling:end -->` (so the docs table is reproduced by a
command)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from passing_score.pipeline.foundation.errors import InputError

BEGIN, END = "<!-- rolling:begin -->", "<!-- rolling:end -->"
BINARY_ORDER = ("ours", "ours_static", "nflfastr_recipe", "logistic", "mlp", "cp_column",
                "base_rate")
YARDS_ORDER = ("ours", "nflfastr_recipe", "binned", "student_t", "gaussian")
PROBABILITIES = ("completion", "interception", "sack")
YARDS = ("yac", "air_yards", "dropback_yards")


def _f(v: Any, nd: int = 4) -> str:
    return "-" if v is None or v != v else f"{v:.{nd}f}"


def _order(pooled: dict[str, Any], binary: bool) -> list[str]:
    order = [m for m in (BINARY_ORDER if binary else YARDS_ORDER) if m in pooled]
    return order + [m for m in pooled if m not in order]


def _metrics(binary: bool) -> tuple[tuple[str, str, int], ...]:
    return ((("log_loss", "log loss", 4), ("calibration_error", "cal. error", 4)) if binary
            else (("nll", "NLL", 4), ("crps", "CRPS", 3)))


def rolling_tables(result: dict[str, Any]) -> list[Table]:
    """Per target: a row per model and metric, a column per season plus the pooled one."""
    seasons = [str(s) for s in result["rolling"]]
    tables = []
    for target, pooled in result["pooled"].items():
        binary = "log_loss" in pooled["ours"]
        t = Table(title=f"{target}: rolling {seasons[0]}-{seasons[-1]}")
        t.add_column("model")
        t.add_column("metric")
        for s in [*seasons, "pooled"]:
            t.add_column(s, justify="right")
        mets = [*_metrics(binary), *((("auc", "AUC", 4),) if binary else ())]
        for model in _order(pooled, binary):
            for key, label, nd in mets:
                vals = [result["seasons"][s][target].get(model, {}).get(key) for s in seasons]
                t.add_row(model, label, *(_f(v, nd) for v in [*vals, pooled[model].get(key)]),
                          style="bold" if model == "ours" else "")
        tables.append(t)
    return tables


def print_rolling(result: dict[str, Any], console: Console) -> None:
    """Print the rolling evaluation tables."""
    console.print(f"rolling evaluation {result['rolling']}: each season predicted by models "
                  f"trained through the season before ({result.get('seconds', '?')} s)")
    for t in rolling_tables(result):
        console.print(t)


def target_markdown(result: dict[str, Any], target: str) -> str:
    """One markdown table: a row per model, the main metrics per season and pooled."""
    seasons = [str(s) for s in result["rolling"]]
    pooled = result["pooled"][target]
    binary = "log_loss" in pooled["ours"]
    head = ["model"]
    for _, label, _ in _metrics(binary):
        head += [f"{label} {s}" for s in seasons] + [f"{label} pooled"]
    if binary:
        head.append("AUC pooled")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in _order(pooled, binary):
        row = [f"**{m}**" if m == "ours" else m]
        for key, _, nd in _metrics(binary):
            row += [_f(result["seasons"][s][target].get(m, {}).get(key), nd) for s in seasons]
            row.append(_f(pooled[m].get(key), nd))
        if binary:
            row.append(_f(pooled[m].get("auc")))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def floor_markdown(result: dict[str, Any]) -> str:
    """Our calibration error per season next to its noise floor (a perfectly calibrated model
    with the same predictions: mean and 90th percentile)."""
    seasons = [str(s) for s in result["rolling"]]
    lines = ["| target | " + " | ".join(seasons) + " | pooled |",
             "|" + "---|" * (len(seasons) + 2)]
    for target in PROBABILITIES:
        if target not in result["pooled"]:
            continue
        cells = []
        for blk in [result["seasons"][s][target] for s in seasons] + [result["pooled"][target]]:
            o = blk["ours"]
            fl = o.get("calibration_floor") or {}
            cells.append(f"{_f(o['calibration_error'])} (floor {_f(fl.get('mean'))}, "
                         f"p90 {_f(fl.get('p90'))})")
        lines.append(f"| {target} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def pit_markdown(result: dict[str, Any], model: str = "ours") -> str:
    """Shares of plays below our 10/50/90% quantiles per season and their coverage error."""
    seasons = [str(s) for s in result["rolling"]] + ["pooled"]
    lines = ["| target | season | <q10 | <q50 | <q90 | coverage error (10/50/90) | "
             "cov. error body (.05-.95) |", "|---|---|---|---|---|---|---|"]
    for target in YARDS:
        if target not in result["pooled"]:
            continue
        for s in seasons:
            blk = result["pooled"][target] if s == "pooled" else result["seasons"][s][target]
            m = blk[model]
            q = m["quantiles"]
            lines.append(f"| {target} | {s} | {q['0.1']:.3f} | {q['0.5']:.3f} | "
                         f"{q['0.9']:.3f} | {m['quantile_coverage_error']:.4f} | "
                         f"{m['coverage_error']['body']:.4f} |")
    return "\n".join(lines)


def rolling_markdown(result: dict[str, Any]) -> str:
    """Every markdown table of a rolling evaluation, as docs/models.md shows them."""
    seasons = result["rolling"]
    parts = [f"Produced by `passing-score evaluate --rolling {seasons[0]}-{seasons[-1]} "
             f"--markdown docs/models.md` ({result.get('seconds', '?')} s); season t is "
             "predicted by models (ours and every baseline) trained through t-1 only."]
    for target in result["pooled"]:
        parts += [f"#### {target}", target_markdown(result, target)]
    if any(t in result["pooled"] for t in PROBABILITIES):
        parts += ["#### Calibration error vs its noise floor (ours)", floor_markdown(result)]
    if any(t in result["pooled"] for t in YARDS):
        parts += ["#### PIT: shares below the 10/50/90% quantiles (ours)", pit_markdown(result)]
    return "\n\n".join(parts)


def write_markdown(result: dict[str, Any], path: Path) -> None:
    """Replace what lies between the rolling markers of `path` with the tables (the file is
    rewritten through a temporary file renamed into place)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"--markdown {path}: cannot read it ({exc.strerror})") from exc
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise InputError(f"--markdown {path}: needs one {BEGIN} line followed by one {END} line")
    head, rest = text.split(BEGIN)
    _, tail = rest.split(END)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(f"{head}{BEGIN}\n{rolling_markdown(result)}\n{END}{tail}")
    os.replace(tmp, path)

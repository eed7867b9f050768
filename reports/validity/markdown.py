"""The validity study as markdown (what `validate` prints and docs/validity.md quotes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from passing_score.reports.validity.study import OURS, PEERS

LABELS = {OURS: "**Passing Score** (shrunk play value)",
          "passing_score_unshrunk": "Passing Score, unshrunk mean",
          "passing_score_loso": "Passing Score, leave-one-season-out weights",
          "epa_per_dropback": "EPA / dropback", "success_rate": "Success rate", "cpoe": "CPOE",
          "passer_rating": "Passer rating", "any_a": "ANY/A",
          "epa_cpoe_composite": "EPA+CPOE composite", "score": "**Game score** (50-99)",
          "play_value_shrunk": "Game play value (shrunk)"}


def _f(x: Any) -> str:
    return "-" if x is None else f"{x:.3f}"


def validity_markdown(result: dict[str, Any]) -> str:
    """The study as markdown tables (what `validate` prints and docs/validity.md quotes)."""
    met = result["metrics"]
    lines = [f"## Validity results: model `{result['model_version']}`", "",
             f"Seasons {result['seasons'][0]}-{result['seasons'][-1]} (REG); weights: "
             f"{result['params']}, trained on {result['train_seasons']}.", "",
             "| metric | split-half r | Spearman-Brown | year-over-year r | next-season EPA/db r "
             "| QB-seasons | half pairs | yoy pairs |",
             "|---|---|---|---|---|---|---|---|"]
    for m, v in met.items():
        lines.append(f"| {LABELS.get(m, m)} | {_f(v['split_half'])} | {_f(v['split_half_sb'])} "
                     f"| {_f(v['yoy'])} | {_f(v['next_season_epa'])} | {v['n_qb_seasons']} "
                     f"| {v['n_half_pairs']} | {v['n_yoy_pairs']} |")
    lines += ["", _verdict(met), ""]
    gl = result["game_level"]
    lines += [f"### Game level ({gl['n_games']} QB-games, {gl['qualified']})", "",
              "| metric | r with team points | r with win | AUC for win |", "|---|---|---|---|"]
    for m, v in gl["metrics"].items():
        lines.append(f"| {LABELS.get(m, m)} | {_f(v['r_points'])} | {_f(v['r_win'])} "
                     f"| {_f(v['auc_win'])} |")
    q = result["qbr"]
    if q.get("available"):
        lines += ["", f"### ESPN QBR ({q['seasons']}: {q['matched']} of {q['qb_seasons']} "
                      "QB-seasons matched)", "", "| metric | r with QBR |", "|---|---|"]
        lines += [f"| {LABELS.get(k, k)} | {_f(v)} |" for k, v in q["r_with_qbr"].items()]
        lines += ["", "| on the QBR-matched QB-seasons | year-over-year r | next-season EPA/db r |",
                  "|---|---|---|",
                  f"| QBR | {_f(q['qbr']['yoy'])} | {_f(q['qbr']['next_season_epa'])} |",
                  f"| Passing Score | {_f(q['passing_score_same_qb_seasons']['yoy'])} "
                  f"| {_f(q['passing_score_same_qb_seasons']['next_season_epa'])} |"]
    return "\n".join(lines) + "\n"


def _verdict(met: dict[str, Any]) -> str:
    """One line per criterion: where the Passing Score ranks among the peers."""
    out = []
    for key, label in (("split_half", "split-half reliability"), ("yoy", "year-over-year"),
                       ("next_season_epa", "next-season EPA/db")):
        vals = {m: met[m][key] for m in (OURS, *PEERS) if met[m][key] is not None}
        if OURS not in vals:
            continue
        order = sorted(vals, key=lambda m: -vals[m])
        pos = order.index(OURS) + 1
        best = order[0] if order[0] != OURS else (order[1] if len(order) > 1 else OURS)
        out.append(f"- {label}: Passing Score ranks {pos} of {len(order)} "
                   f"({_f(vals[OURS])}; best peer {LABELS.get(best, best)} {_f(vals[best])})")
    return "\n".join(out)


def write_validity_markdown(result: dict[str, Any], path: Path | str) -> Path:
    """Write the study's markdown tables to path (parents created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(validity_markdown(result))
    return path

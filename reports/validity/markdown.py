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


# ---------------------------------------------------------------- the rolling study

BEGIN, END = "<!-- validate:begin -->", "<!-- validate:end -->"
TARGETS = {"split_half_sb": 0.72, "yoy": 0.50, "next_season_epa": 0.46}  # issue 15
ROLLING_LABELS = {**LABELS, OURS: "**Passing Score** (nested choice)", "qbr": "ESPN QBR",
                  "ours_mv_recv": "Passing Score, production candidate (mv_recv)"}


def _ci(c: Any) -> str:
    return "" if not c else f" [{c[0]:.2f}, {c[1]:.2f}]"


def _target_rows(res: dict[str, Any]) -> list[str]:
    """One row per target: our figure, the best peer's, met or missed and by how much."""
    met = res["metrics"]
    out = ["| target | Passing Score | best peer | met? |", "|---|---|---|---|"]
    for key, label in (("split_half_sb", "split-half Spearman-Brown"), ("yoy", "year-over-year r"),
                       ("next_season_epa", "next-season EPA/db r")):
        ours = met[OURS][key]
        peers = {m: met[m][key] for m in PEERS if met[m][key] is not None}
        if ours is None or not peers:
            out.append(f"| {label} >= {TARGETS[key]:.2f} and first | - | - | not measurable |")
            continue
        best = max(peers, key=lambda m: peers[m])
        level = "yes" if ours >= TARGETS[key] else f"no ({ours - TARGETS[key]:+.3f})"
        rank = 1 + sum(v > ours for v in peers.values())
        first = ("yes" if rank == 1 else
                 f"no (rank {rank} of {len(peers) + 1}, {ours - peers[best]:+.3f})")
        out.append(f"| {label} >= {TARGETS[key]:.2f} and first | {ours:.3f} | "
                   f"{LABELS.get(best, best)} {peers[best]:.3f} | level {level}; first {first} |")
    tc = res["team_changers"]["metrics"]
    ch = {m: tc[m]["changers_next_epa"] for m in (OURS, *PEERS)
          if tc.get(m, {}).get("changers_next_epa") is not None}
    if OURS in ch:
        rival = max((m for m in ch if m != OURS), key=lambda m: ch[m], default=None)
        verdict = "yes" if rival is None or ch[OURS] >= ch[rival] else \
            f"no ({ch[OURS] - ch[rival]:+.3f})"
        peer = "-" if rival is None else f"{LABELS.get(rival, rival)} {ch[rival]:.3f}"
        out.append(f"| first on team changers (next-season EPA/db r, "
                   f"{res['team_changers']['n_changers']} pairs) | {ch[OURS]:.3f} | {peer} | "
                   f"{verdict} |")
    d = res["drift"]["nested"]["max_abs_from_week_4"]
    if d is not None:
        out.append(f"| drift within 3 points for every k >= 4 | {d:.2f} | | "
                   f"{'yes' if d <= 3 else f'no (+{d - 3:.2f})'} |")
    c = res["half_coverage"]["all"]
    if c.get("observed") is not None:
        out.append(f"| half-season 80% intervals as wide as implied | observed "
                   f"{c['observed']:.3f} vs implied {c['implied']:.3f}, z sd {c['z_sd']:.2f} "
                   f"| | {'yes' if abs(c['z_sd'] - 1) <= 0.05 else 'no'} (z sd 1 = honest) |")
    return out


def rolling_markdown(res: dict[str, Any]) -> str:
    """The rolling study's tables (docs/validity.md, between the validate markers)."""
    met, boot, pr = res["metrics"], res["bootstrap"], res["protocol"]
    lo, hi = pr["evaluated_seasons"]
    lines = [f"Rolling origins {', '.join(pr['origins'])} (first season {pr['first_season']});"
             f" targets judged on {lo}-{hi} (REG): {met[OURS]['n_half_pairs']} half pairs, "
             f"{met[OURS]['n_yoy_pairs']} year-over-year pairs; 95% bootstrap CIs over QBs "
             f"({boot['reps']} resamples).", "", *_target_rows(res), "",
             "| metric | split-half r | Spearman-Brown | year-over-year r | next-season "
             "EPA/db r |", "|---|---|---|---|---|"]
    for m in met:
        b = boot[m]
        lines.append(f"| {ROLLING_LABELS.get(m, m)} | {_f(met[m]['split_half'])}"
                     f"{_ci(b['split_half']['ci'])} | {_f(met[m]['split_half_sb'])}"
                     f"{_ci(b['split_half_sb']['ci'])} | {_f(met[m]['yoy'])}{_ci(b['yoy']['ci'])}"
                     f" | {_f(met[m]['next_season_epa'])}{_ci(b['next_season_epa']['ci'])} |")
    lines += ["", "Passing Score minus each peer (paired bootstrap, 95% CI; P = share of "
                  "resamples where ours is higher):", "",
              "| peer | split-half | year-over-year | next-season EPA/db |", "|---|---|---|---|"]
    for m in PEERS:
        cells = []
        for c in ("split_half", "yoy", "next_season_epa"):
            b = boot[m][c]
            d = (met[OURS][c] - met[m][c] if met[OURS][c] is not None and met[m][c] is not None
                 else None)
            cells.append("-" if d is None or b["p_ours_better"] is None else
                         f"{d:+.3f}{_ci(b['diff_ours_minus'])} P={b['p_ours_better']:.2f}")
        lines.append(f"| {LABELS.get(m, m)} | " + " | ".join(cells) + " |")
    q = res["qbr"]
    lines += ["", f"ESPN QBR on its own {q['n_pairs']} pairs: year-over-year {_f(q['yoy'])}, "
                  f"next-season EPA/db {_f(q['next_season_epa'])}; the Passing Score on the same "
                  f"pairs {_f(q['ours_yoy_same_pairs'])} / {_f(q['ours_next_same_pairs'])}.", "",
              "Every candidate, each fixed at every origin (out of sample; reported, the rule "
              "above chooses):", "",
              "| candidate | split-half r | Spearman-Brown | year-over-year r | next-season "
              "EPA/db r |", "|---|---|---|---|---|"]
    for m, v in res["variants"].items():
        lines.append(f"| {m.removeprefix('ours_')} | {_f(v['split_half'])} | "
                     f"{_f(v['split_half_sb'])} | {_f(v['yoy'])} | {_f(v['next_season_epa'])} |")
    return "\n".join(lines + _tail(res)) + "\n"


def _tail(res: dict[str, Any]) -> list[str]:
    tc = res["team_changers"]
    lines = ["", f"Team changers ({tc['n_changers']} pairs whose team differs in t+1; "
                 f"{tc['n_stayers']} stayers):", "",
             "| metric | changers: next-season EPA/db r | changers: yoy r | stayers: next-season "
             "EPA/db r | stayers: yoy r |", "|---|---|---|---|---|"]
    for m, v in tc["metrics"].items():
        if m.startswith("ours_") and m != "ours_mv_recv":
            continue
        lines.append(f"| {ROLLING_LABELS.get(m, m)} | {_f(v['changers_next_epa'])} | "
                     f"{_f(v['changers_yoy'])} | {_f(v['stayers_next_epa'])} | "
                     f"{_f(v['stayers_yoy'])} |")
    names = list(next(iter(res["inner"].values()), {}))
    lines += ["", "Chosen candidate per origin (inner leave-one-season-out J on the seasons "
                  "before it):", "", "| origin | play models (seasons seen) | chosen | "
              + " | ".join(names) + " |", "|---|---|---|" + "---|" * len(names)]
    for t, inner in res["inner"].items():
        o = res["protocol"]["origins"][t]
        seen = o["play_model_seasons"]
        lines.append(f"| {t} | `{o['play_models']}` ({min(seen)}-{max(seen)}) | "
                     f"{res['chosen'][t]} | " + " | ".join(_f(v["J"]) for v in inner.values())
                     + " |")
    dn, dl = res["drift"]["nested"], res["drift"]["last_fit_all_seasons"]
    lines += ["", "Drift: median over seasons of (median qualified season-to-date score after "
                  "week k - the final median):", "",
              "| k | rolling (nested choice) | last origin's fit, every season |", "|---|---|---|"]
    lines += [f"| {k} | {_d(dn['median'].get(k))} | {_d(dl['median'].get(k))} |"
              for k in dn["median"]]
    lines.append(f"| max over k >= 4 | {_d(dn['max_abs_from_week_4'])} | "
                 f"{_d(dl['max_abs_from_week_4'])} |")
    lines += ["", "Half-season intervals (does half A's 80% interval cover half B's raw value "
                  "as often as the two variances imply?):", "",
              "| season | intervals checked | observed | implied | z sd | abs(z) < 1.28 |",
              "|---|---|---|---|---|---|"]
    for t, c in {**res["half_coverage"]["by_season"], "all": res["half_coverage"]["all"]}.items():
        lines.append(f"| {t} | {c.get('pairs', '')} | {_f(c['observed'])} | "
                     f"{_f(c['implied'])} | {_f(c['z_sd'])} | {_f(c['z_cover_80'])} |")
    lines += ["", "Single games (qualified REG games, each against its week's league):", "",
              "| season | games | sd of weekly medians | r with the QB's other games | "
              "r with team points | AUC for a win |", "|---|---|---|---|---|---|"]
    for t, g in res["game_level"].items():
        lines.append(f"| {t} | {g['n_games']} | {g.get('week_median_sd', '-')} | "
                     f"{_f(g.get('r_rest_of_season'))} | {_f(g.get('r_points'))} | "
                     f"{_f(g.get('auc_win'))} |")
    return lines


def _d(x: float | None) -> str:
    return "-" if x is None else f"{x:+.2f}"


def write_markdown(text: str, path: Path | str) -> Path:
    """Write generated tables: between the validate markers of an existing file (the prose
    around them stays), else the whole file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    block = f"{BEGIN}\n{text}{END}\n"
    old = path.read_text() if path.exists() else ""
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        body = head + block + ("\n" + tail if tail else "")
    else:
        body = block
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(body)
    tmp.replace(path)
    return path

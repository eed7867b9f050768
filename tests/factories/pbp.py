"""Synthetic play-by-play with the real nflverse schema, for fast tests that need no real data.

The simulator is crude football (drives, downs, sacks, scrambles, completions that get harder
with depth, heavy-tailed yards after catch, punts, field goals, penalties, two-point tries), but
every row has the 319 nflverse columns with their real types (tests/fixtures/pbp_schema.json).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

SCHEMA_FILE = Path(__file__).parents[1] / "fixtures" / "pbp_schema.json"
_PL = {"str": pl.String, "i64": pl.Int64, "i32": pl.Int32, "f64": pl.Float64, "null": pl.Null}
TEAMS = ("KC", "BUF", "CIN", "BAL", "SF", "DAL", "PHI", "MIA", "DET", "GB", "LAR", "NYJ")


def pbp_schema() -> dict[str, pl.DataType]:
    """The nflverse play-by-play columns and types, as in the shared season files."""
    return {name: _PL[t]() for name, t in json.loads(SCHEMA_FILE.read_text())}


def qb_id(team: str) -> str:
    """GSIS-like id of a synthetic team's starting QB."""
    return f"00-00{TEAMS.index(team) + 30000:05d}"


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _simulate_game(rng: np.random.Generator, season: int, week: int, season_type: str,
                   away: str, home: str, n_plays: int, skill: dict[str, float]) -> list[dict]:
    gid = f"{season}_{week:02d}_{away}_{home}"
    roof = str(rng.choice(["outdoors", "dome", "closed", "open"], p=[0.6, 0.25, 0.1, 0.05]))
    temp = None if roof in ("dome", "closed") else float(rng.integers(20, 90))
    wind = None if roof in ("dome", "closed") else float(rng.integers(0, 20))
    score = {home: 0, away: 0}
    rows: list[dict] = []
    pos, yl, down, togo = away, 75, 1, 10
    play_id = 1
    secs_per_play = 3600 / n_plays
    for i in range(n_plays):
        gsr = max(0, int(3600 - i * secs_per_play))
        qtr = min(4, 1 + (3600 - gsr) // 900)
        de = home if pos == away else away
        base: dict[str, Any] = {
            "game_id": gid, "play_id": play_id, "old_game_id": f"{season}09{week:02d}{i % 100:02d}",
            "season": season, "week": week, "season_type": season_type,
            "game_date": f"{season}-09-{min(28, week + 7):02d}", "home_team": home,
            "away_team": away, "posteam": pos, "defteam": de,
            "posteam_type": "home" if pos == home else "away",
            "side_of_field": de if yl < 50 else pos, "yardline_100": yl, "down": down,
            "ydstogo": togo, "goal_to_go": int(yl <= togo), "qtr": qtr,
            "quarter_seconds_remaining": gsr - (4 - qtr) * 900,
            "half_seconds_remaining": gsr - (1800 if qtr <= 2 else 0),
            "game_seconds_remaining": gsr, "score_differential": score[pos] - score[de],
            "posteam_score": score[pos], "defteam_score": score[de],
            "total_home_score": score[home], "total_away_score": score[away],
            "posteam_timeouts_remaining": 3, "defteam_timeouts_remaining": 3,
            "shotgun": int(rng.random() < 0.65), "no_huddle": int(rng.random() < 0.08),
            "roof": roof, "surface": "grass", "temp": temp, "wind": wind,
            "xpass": round(float(0.45 + 0.1 * (down - 1) + 0.05 * (togo > 7)), 3),
            "home_score": None, "away_score": None, "spread_line": 2.5, "total_line": 45.0,
            "qb_dropback": 0, "pass_attempt": 0, "sack": 0, "qb_scramble": 0, "qb_spike": 0,
            "qb_kneel": 0, "two_point_attempt": 0, "penalty": 0, "complete_pass": 0,
            "incomplete_pass": 0, "interception": 0, "qb_hit": 0, "touchdown": 0,
            "pass_touchdown": 0, "first_down": 0, "rush_attempt": 0, "fumble": 0,
            "fumble_lost": 0, "aborted_play": 0, "play_deleted": 0,
        }
        play_id += int(rng.integers(15, 40))
        qb = qb_id(pos)
        gained, turnover, kind = 0, False, "run"
        if down == 4:
            if yl <= 35:
                kind = "field_goal"
                base.update(play_type="field_goal", down=4, desc="field goal attempt")
                if rng.random() < 0.85:
                    score[pos] += 3
            else:
                kind = "punt"
                base.update(play_type="punt", desc="punt")
            turnover = True
        elif rng.random() < 0.03:
            base.update(play_type="no_play", penalty=1, desc="(Shotgun) PENALTY, no play")
            kind = "no_play"
        elif rng.random() < 0.58:
            base.update(qb_dropback=1, passer_id=qb, passer=f"{pos}.QB")
            r = rng.random()
            if r < 0.065:
                gained = -int(rng.integers(1, 11))
                base.update(play_type="pass", sack=1, pass_attempt=1, passer_player_id=qb,
                            passer_player_name=f"{pos}.QB", desc=f"{pos}.QB sacked",
                            qb_hit=1)
                kind = "sack"
            elif r < 0.105:
                gained = int(rng.integers(-1, 13))
                base.update(play_type="run", qb_scramble=1, rush_attempt=1,
                            rusher_player_id=qb, desc=f"{pos}.QB scrambles")
                kind = "scramble"
            else:
                air = int(np.clip(round(rng.gamma(2.0, 4.5) - 3), -5, max(yl, 1)))
                p = _sigmoid(1.5 - 0.075 * air + skill.get(qb, 0.0))
                hit = int(rng.random() < 0.15)
                complete = rng.random() < p * (0.8 if hit else 1.0)
                intercepted = (not complete) and rng.random() < 0.07 - skill.get(qb, 0.0) * 0.02
                yac = int(min(round(rng.pareto(3.0) * 6), 90)) if complete else None
                gained = min(air + yac, yl) if complete and yac is not None else 0
                base.update(play_type="pass", pass_attempt=1, passer_player_id=qb,
                            passer_player_name=f"{pos}.QB", air_yards=air,
                            yards_after_catch=None if yac is None else gained - air,
                            complete_pass=int(complete), incomplete_pass=int(not complete),
                            interception=int(intercepted), qb_hit=hit,
                            pass_length="deep" if air >= 15 else "short",
                            pass_location=str(rng.choice(["left", "middle", "right"])),
                            receiver_player_id=f"00-01{TEAMS.index(pos):05d}",
                            cp=round(p, 4), cpoe=round(100 * (int(complete) - p), 3),
                            desc=f"{pos}.QB pass {'complete' if complete else 'incomplete'}")
                kind = "pass"
                turnover = intercepted
        else:
            gained = int(np.clip(round(rng.normal(4.2, 5.0)), -5, yl))
            base.update(play_type="run", rush_attempt=1, desc="run")
        base["yards_gained"] = gained if kind not in ("punt", "field_goal", "no_play") else 0
        td = kind in ("pass", "run", "scramble") and not turnover and gained >= yl
        base["touchdown"] = int(td)
        base["pass_touchdown"] = int(td and kind == "pass")
        fd = (not turnover) and (gained >= togo) and kind not in ("punt", "field_goal", "no_play")
        base["first_down"] = int(fd and not td)
        base["epa"] = round(0.12 * (gained - 0.4 * togo) + 4.0 * td - 4.5 * base["interception"]
                            - 0.8 * (kind == "sack") + float(rng.normal(0, 0.3)), 4)
        base["qb_epa"] = base["epa"]
        if kind == "pass" and base.get("complete_pass") == 1 and base.get("yards_after_catch") \
                is not None:
            base["yac_epa"] = round(0.12 * base["yards_after_catch"], 4)
        base["success"] = int(base["epa"] > 0)
        base["wp"] = round(_sigmoid(0.1 * base["score_differential"]), 4)
        rows.append(base)
        if td:
            score[pos] += 7
            turnover = True
        if kind == "no_play":
            continue
        if turnover or (down == 4):
            pos = de
            yl, down, togo = 75 if td or kind in ("punt", "field_goal") else max(1, 100 - yl), 1, 10
            continue
        yl -= gained
        yl = int(np.clip(yl, 1, 99))
        if fd:
            down, togo = 1, min(10, yl)
        else:
            down, togo = down + 1, max(1, togo - gained)
    final = {"home_score": score[home], "away_score": score[away],
             "result": score[home] - score[away], "total": score[home] + score[away]}
    for r in rows:
        r.update(final)
    return rows


def make_pbp(season: int = 2030, weeks: tuple[int, ...] = (1, 2),
             teams: tuple[str, ...] = TEAMS[:8], seed: int = 0, plays_per_game: int = 110,
             season_type: str = "REG",
             skill: dict[str, float] | None = None) -> pl.DataFrame:
    """Simulated play-by-play for a small league, with every nflverse column and type."""
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    for week in weeks:
        order = list(teams)
        rng.shuffle(order)
        for a, h in zip(order[::2], order[1::2], strict=False):
            rows.extend(_simulate_game(rng, season, week, season_type, a, h, plays_per_game,
                                       skill or {}))
    schema = pbp_schema()
    data = {c: [r.get(c) for r in rows] for c in schema}
    return pl.DataFrame(data, schema=schema)

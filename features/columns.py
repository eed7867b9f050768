"""The single registry of `dropbacks` columns: name, stage, type, source columns, SQL and doc.

Model code selects columns by stage (`columns("pre_snap")`), never from hand-typed lists, and
`docs/features.md` is generated from this file (`python -m passing_score.features.columns`;
a test keeps the committed copy equal to the generated one).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Stage = Literal["key", "id", "pre_snap", "at_throw", "outcome", "baseline", "flag"]
STAGES: tuple[Stage, ...] = ("key", "id", "pre_snap", "at_throw", "outcome", "baseline", "flag")
FEATURE_STAGES: tuple[Stage, ...] = ("pre_snap", "at_throw")
DTYPES = ("VARCHAR", "BIGINT", "INTEGER", "DOUBLE", "BOOLEAN")

STAGE_DOCS: dict[Stage, str] = {
    "key": "primary key of a dropback (one row per `(game_id, play_id)`).",
    "id": "who and when: for joins, grouping and splits, never model inputs.",
    "pre_snap": "known before the snap; safe inputs for every play model.",
    "at_throw": "known when the ball is thrown; set on pass attempts only (null on sacks and "
                "scrambles), for models conditioned on a throw.",
    "outcome": "what happened on the play (prefix `out_`): model targets, never inputs.",
    "baseline": "nflfastR-style model outputs from the source, kept to compare against; never "
                "inputs.",
    "flag": "sample and data-quality flags (booleans); `model_eligible` is the training sample.",
}

# Constants of the derived features (documented in docs/features.md through DOC_INTRO).
INDOOR_TEMP, INDOOR_WIND = 70.0, 0.0
OUTDOOR_TEMP, OUTDOOR_WIND = 58.0, 7.0  # medians of outdoor dropbacks with weather, 2016-2024
K_DROPBACKS, K_ATTEMPTS = 150, 125  # shrinkage weights of the opponent-defense prior
WEEK1_EPA, WEEK1_CMP = 0.04, 0.64  # league prior before any game of a season (2016-2024 means)

# Source columns the build reads from `plays` and the type it reads them as (TRY_CAST: a value
# that does not fit becomes null and trips a flag instead of failing the build).
SOURCE_TYPES: dict[str, str] = {
    **dict.fromkeys(
        ("game_id", "season_type", "game_date", "home_team", "posteam", "defteam", "passer_id",
         "passer", "desc", "play_type", "roof", "surface", "pass_location", "pass_length"),
        "VARCHAR"),
    **dict.fromkeys(
        ("play_id", "season", "game_week", "qb_dropback", "pass_attempt", "sack", "qb_scramble",
         "qb_spike", "qb_kneel", "two_point_attempt", "aborted_play", "complete_pass",
         "interception", "qb_hit", "pass_touchdown", "rush_touchdown", "first_down",
         "fumble_lost", "down", "ydstogo", "yardline_100", "goal_to_go", "qtr",
         "game_seconds_remaining", "half_seconds_remaining", "score_differential",
         "posteam_timeouts_remaining", "defteam_timeouts_remaining", "shotgun", "no_huddle",
         "air_yards", "yards_after_catch", "yards_gained", "lateral_receiving_yards",
         "lateral_rushing_yards"),
        "BIGINT"),
    **dict.fromkeys(("temp", "wind", "xpass", "epa", "qb_epa", "yac_epa", "cp", "cpoe"),
                    "DOUBLE"),
}


@dataclass(frozen=True)
class ColumnSpec:
    """One `dropbacks` column: what it is, where it comes from and how it is computed.

    `sql` is an expression over the build's prepared rows (typed source columns plus the helper
    columns of `features.build`); `prior_games` marks columns computed from *earlier* games'
    values of `sources` (the play's own values of those columns never enter them).
    """

    name: str
    stage: Stage
    dtype: str
    sources: tuple[str, ...]
    doc: str
    sql: str | None = None
    prior_games: bool = False

    @property
    def expr(self) -> str:
        """The SQL expression that computes the column (the column name itself by default)."""
        return self.sql if self.sql is not None else f'"{self.name}"'


def _c(name: str, stage: Stage, dtype: str, sources: str, doc: str, sql: str | None = None,
       prior_games: bool = False) -> ColumnSpec:
    return ColumnSpec(name, stage, dtype, tuple(sources.split()), doc, sql, prior_games)


_ATT = "CASE WHEN is_attempt THEN {} END"
_ATT_SRC = "pass_attempt sack"  # the sources of `is_attempt`
_BAD_SRC = ("down ydstogo yardline_100 qtr game_seconds_remaining half_seconds_remaining "
            "score_differential posteam_timeouts_remaining defteam_timeouts_remaining xpass "
            "posteam defteam two_point_attempt qb_spike")

SPECS: tuple[ColumnSpec, ...] = (
    # key ---------------------------------------------------------------------------------------
    _c("game_id", "key", "VARCHAR", "game_id", "nflverse game id `SEASON_WW_AWAY_HOME`"),
    _c("play_id", "key", "BIGINT", "play_id", "play id, unique within a game"),
    # id ----------------------------------------------------------------------------------------
    _c("season", "id", "BIGINT", "season", "season (year it starts)"),
    _c("week", "id", "BIGINT", "game_week",
       "week from the game id: REG 1-17/18, POST continues (18/19-22)", "game_week"),
    _c("season_type", "id", "VARCHAR", "season_type", "`REG` or `POST`"),
    _c("game_date", "id", "VARCHAR", "game_date", "game date (ISO text)"),
    _c("passer_id", "id", "VARCHAR", "passer_id passer desc posteam",
       "GSIS id of the QB who dropped back (scrambles too); when the source leaves it empty "
       "(nullified scrambles) it is recovered from the name in `desc` matched to the ids the "
       "same team's passers carry in the same game (`passer_from_desc`)", "qb_id"),
    _c("passer", "id", "VARCHAR", "passer desc", "QB name as in the play text (`J.Allen`)",
       "qb_name"),
    _c("posteam", "id", "VARCHAR", "posteam", "the QB's team (offense)"),
    _c("defteam", "id", "VARCHAR", "defteam", "the opponent (defense)"),
    # pre_snap ----------------------------------------------------------------------------------
    _c("down", "pre_snap", "INTEGER", "down", "down 1-4 (null on two-point tries)"),
    _c("ydstogo", "pre_snap", "INTEGER", "ydstogo", "yards to a first down"),
    _c("yardline_100", "pre_snap", "INTEGER", "yardline_100", "yards from the opponent's goal"),
    _c("goal_to_go", "pre_snap", "BOOLEAN", "goal_to_go", "the line to gain is the goal line "
       "(null read as false)", "coalesce(goal_to_go, 0) = 1"),
    _c("score_differential", "pre_snap", "INTEGER", "score_differential",
       "offense score minus defense score before the snap"),
    _c("qtr", "pre_snap", "INTEGER", "qtr", "quarter, 5 = overtime"),
    _c("game_seconds_remaining", "pre_snap", "INTEGER", "game_seconds_remaining",
       "seconds left in regulation"),
    _c("half_seconds_remaining", "pre_snap", "INTEGER", "half_seconds_remaining",
       "seconds left in the half"),
    _c("posteam_timeouts", "pre_snap", "INTEGER", "posteam_timeouts_remaining",
       "offense timeouts left", "posteam_timeouts_remaining"),
    _c("defteam_timeouts", "pre_snap", "INTEGER", "defteam_timeouts_remaining",
       "defense timeouts left", "defteam_timeouts_remaining"),
    _c("is_home", "pre_snap", "BOOLEAN", "posteam home_team", "the offense is at home",
       "posteam = home_team"),
    _c("is_postseason", "pre_snap", "BOOLEAN", "season_type", "a playoff game",
       "season_type = 'POST'"),
    _c("era", "pre_snap", "INTEGER", "season",
       "the season as a numeric trend term (league passing drifts by year); `season` itself is "
       "an id", "season"),
    _c("roof", "pre_snap", "VARCHAR", "roof",
       "outdoors | dome | closed | open | unknown (trimmed, lower case)", "roof_n"),
    _c("surface", "pre_snap", "VARCHAR", "surface",
       "grass | turf | unknown (every artificial brand, e.g. fieldturf, a_turf, is turf)",
       "surface_n"),
    _c("is_indoor", "pre_snap", "BOOLEAN", "roof", "dome or closed roof"),
    _c("temp", "pre_snap", "DOUBLE", "temp roof",
       f"temperature, F; null imputed: {INDOOR_TEMP:g} indoors, {OUTDOOR_TEMP:g} elsewhere",
       f"coalesce(temp, CASE WHEN is_indoor THEN {INDOOR_TEMP} ELSE {OUTDOOR_TEMP} END)"),
    _c("wind", "pre_snap", "DOUBLE", "wind roof",
       f"wind, mph; null imputed: {INDOOR_WIND:g} indoors, {OUTDOOR_WIND:g} elsewhere",
       f"coalesce(wind, CASE WHEN is_indoor THEN {INDOOR_WIND} ELSE {OUTDOOR_WIND} END)"),
    _c("weather_missing", "pre_snap", "BOOLEAN", "temp wind roof",
       "temp or wind was null and not explained by a dome/closed roof (value imputed)",
       "(temp IS NULL OR wind IS NULL) AND NOT is_indoor"),
    _c("shotgun", "pre_snap", "BOOLEAN", "shotgun", "snap from shotgun (null read as false)",
       "coalesce(shotgun, 0) = 1"),
    _c("no_huddle", "pre_snap", "BOOLEAN", "no_huddle", "no-huddle snap (null read as false)",
       "coalesce(no_huddle, 0) = 1"),
    _c("xpass", "pre_snap", "DOUBLE", "xpass",
       "nflfastR-style pass probability of the situation (pass-rate context)"),
    _c("opp_def_epa_per_db", "pre_snap", "DOUBLE", "epa defteam",
       "defense's EPA allowed per dropback in its earlier games of the season, shrunk: "
       f"(sum + {K_DROPBACKS}·prior) / (n + {K_DROPBACKS})", "opp_def_epa_per_db",
       prior_games=True),
    _c("opp_def_cmp_rate", "pre_snap", "DOUBLE", "complete_pass pass_attempt sack defteam",
       "defense's completion rate allowed in its earlier games of the season, shrunk: "
       f"(completions + {K_ATTEMPTS}·prior) / (attempts + {K_ATTEMPTS})", "opp_def_cmp_rate",
       prior_games=True),
    _c("opp_def_dropbacks", "pre_snap", "INTEGER", "epa defteam",
       "eligible dropbacks (with epa) the defense faced in its earlier games of the season",
       "opp_def_dropbacks", prior_games=True),
    _c("opp_def_games", "pre_snap", "INTEGER", "defteam",
       "earlier games of the season behind the opponent numbers", "opp_def_games",
       prior_games=True),
    # at_throw ----------------------------------------------------------------------------------
    _c("air_yards", "at_throw", "INTEGER", f"air_yards {_ATT_SRC}",
       "air yards of the throw (depth of target)", _ATT.format("air_yards")),
    _c("air_yards_missing", "at_throw", "BOOLEAN", f"air_yards {_ATT_SRC}",
       "the attempt has no air yards (air-yards features are then null)",
       _ATT.format("air_yards IS NULL")),
    _c("air_to_sticks", "at_throw", "INTEGER", f"air_yards ydstogo {_ATT_SRC}",
       "air_yards - ydstogo: catch point beyond (+) or short of (-) the line to gain",
       _ATT.format("air_yards - ydstogo")),
    _c("air_to_goal", "at_throw", "INTEGER", f"air_yards yardline_100 {_ATT_SRC}",
       "yardline_100 - air_yards: catch point's distance to the goal line (<= 0: end zone)",
       _ATT.format("yardline_100 - air_yards")),
    _c("pass_location", "at_throw", "VARCHAR", f"pass_location {_ATT_SRC}",
       "left | middle | right | unknown", _ATT.format("pass_location_n")),
    _c("pass_length", "at_throw", "VARCHAR", f"pass_length {_ATT_SRC}",
       "short | deep | unknown", _ATT.format("pass_length_n")),
    _c("qb_hit", "at_throw", "BOOLEAN", f"qb_hit {_ATT_SRC}",
       "QB hit on the throw (null read as false)", _ATT.format("coalesce(qb_hit, 0) = 1")),
    # outcome -----------------------------------------------------------------------------------
    _c("out_pass_attempt", "outcome", "BOOLEAN", "pass_attempt sack",
       "the dropback ended in a throw (spikes included; sacks not)", "is_attempt"),
    _c("out_sack", "outcome", "BOOLEAN", "sack", "the dropback ended in a sack", "is_sack"),
    _c("out_scramble", "outcome", "BOOLEAN", "qb_scramble pass_attempt sack",
       "the QB ran (no throw, no sack); attempt, sack and scramble partition the dropbacks",
       "is_scramble"),
    _c("out_complete", "outcome", "BOOLEAN", "complete_pass pass_attempt sack",
       "completed pass", "is_attempt AND coalesce(complete_pass, 0) = 1"),
    _c("out_interception", "outcome", "BOOLEAN", "interception", "interception",
       "coalesce(interception, 0) = 1"),
    _c("out_yards_gained", "outcome", "INTEGER", "yards_gained",
       "yards gained (sack yards negative, laterals included)", "yards_gained"),
    _c("out_air_yards", "outcome", "INTEGER", "air_yards pass_attempt sack",
       "air yards as an outcome of the dropback (where the QB chose to throw)",
       _ATT.format("air_yards")),
    _c("out_yac", "outcome", "INTEGER", "yards_after_catch", "yards after the catch",
       "yards_after_catch"),
    _c("out_touchdown", "outcome", "BOOLEAN", "pass_touchdown rush_touchdown",
       "offensive touchdown on the dropback (passing, or rushing on a scramble)",
       "coalesce(pass_touchdown, 0) = 1 OR coalesce(rush_touchdown, 0) = 1"),
    _c("out_first_down", "outcome", "BOOLEAN", "first_down", "the play earned a first down",
       "coalesce(first_down, 0) = 1"),
    _c("out_fumble_lost", "outcome", "BOOLEAN", "fumble_lost", "fumble lost (mostly on sacks)",
       "coalesce(fumble_lost, 0) = 1"),
    _c("out_epa", "outcome", "DOUBLE", "epa", "expected points added", "epa"),
    _c("out_qb_epa", "outcome", "DOUBLE", "qb_epa epa",
       "the QB's expected points added (a fumble after the catch is the receiver's); the "
       "source's qb_epa, else epa", "coalesce(qb_epa, epa)"),
    _c("out_yac_epa", "outcome", "DOUBLE", "yac_epa",
       "expected points added after the catch (completions)", "yac_epa"),
    # baseline ----------------------------------------------------------------------------------
    _c("cp", "baseline", "DOUBLE", "cp",
       "source completion probability (runs ~2.5 points high in this data)"),
    _c("cpoe", "baseline", "DOUBLE", "cpoe", "source completion over expected (points)"),
    # flag --------------------------------------------------------------------------------------
    _c("is_nullified", "flag", "BOOLEAN", "play_type",
       "play_type `no_play`: a penalty wiped the play out (source counts only nullified "
       "scrambles as dropbacks)"),
    _c("is_two_point", "flag", "BOOLEAN", "two_point_attempt", "two-point try (no down)"),
    _c("is_spike", "flag", "BOOLEAN", "qb_spike play_type", "spike to stop the clock"),
    _c("is_kneel", "flag", "BOOLEAN", "qb_kneel play_type",
       "kneel (never a dropback in the shared data)"),
    _c("is_aborted", "flag", "BOOLEAN", "aborted_play desc",
       "aborted snap: `aborted_play`, or 'Aborted' in the text when that column is null"),
    _c("is_throwaway", "flag", "BOOLEAN", "desc",
       "text says the ball was thrown away; the play-by-play text marks only a fraction of "
       "throwaways"),
    _c("is_batted", "flag", "BOOLEAN", f"desc {_ATT_SRC}",
       "attempt whose text says batted / tipped or deflected at the line (undercounted too)"),
    _c("is_lateral", "flag", "BOOLEAN", "lateral_receiving_yards lateral_rushing_yards desc",
       "a lateral on the play: after the catch or run (yards include it), or before the throw "
       "on a trick play"),
    _c("passer_from_desc", "flag", "BOOLEAN", "passer_id passer desc posteam",
       "`passer_id` / `passer` were empty in the source and recovered from the play text"),
    _c("is_bad_context", "flag", "BOOLEAN", _BAD_SRC,
       "a pre-snap value is missing or impossible (down not 1-4, ydstogo not 1-99 or beyond "
       "the goal, yardline not 1-99, clock/quarter/timeouts out of range, xpass not 0-1, no "
       "teams); two-point tries and spikes are exempt (no down/xpass by nature)"),
    _c("model_eligible", "flag", "BOOLEAN",
       "play_type two_point_attempt qb_spike qb_kneel aborted_play passer_id passer desc "
       "posteam " + _BAD_SRC,
       "the play models' sample: not nullified, two-point, spike, kneel or aborted, a known "
       "passer, no bad context (throwaways, batted balls and laterals stay in)"),
)

BY_NAME: dict[str, ColumnSpec] = {s.name: s for s in SPECS}


def columns(*stages: Stage) -> list[str]:
    """Names of the columns of the given stages, in table order (all columns when none given)."""
    for s in stages:
        if s not in STAGES:
            raise ValueError(f"unknown stage {s!r}; use one of {', '.join(STAGES)}")
    return [s.name for s in SPECS if not stages or s.stage in stages]


def feature_columns() -> list[str]:
    """Model inputs: pre-snap and at-throw columns."""
    return columns(*FEATURE_STAGES)


def specs(*stages: Stage) -> list[ColumnSpec]:
    """The specs of the given stages (all when none given)."""
    return [BY_NAME[n] for n in columns(*stages)]


DOC_INTRO = f"""\
# `dropbacks`: play-context features, one row per QB dropback

Generated from `features/columns.py` (`python -m passing_score.features.columns`); a test
keeps this file equal to the generated text. Built from `plays` by
`features.build.build_dropbacks` (DuckDB SQL over the whole table; incremental per game). Key
`(game_id, play_id)`.

## Which plays
A row is every play the source marks `qb_dropback = 1` (pass attempt, sack or scramble;
regular and post season), so counts per season equal the source's dropback counts. Nothing
among them is dropped; plays a model should not train on are **flagged** instead:

- **Nullified plays** (`play_type = no_play`): the source counts only nullified *scrambles*
  as dropbacks (531 in 2016-2024); they stay, with `is_nullified`, and their passer is
  recovered from the text. Nullified *passes* are not dropbacks in the source
  (`qb_dropback = 0`, no passer id, no air yards; ~10k plays) and are not in the table.
- **Two-point tries, spikes, kneels, aborted snaps**: kept and flagged; not model-eligible.
- **Throwaways, batted balls, laterals**: kept, flagged and *eligible*: they are real QB
  outcomes, and the text flags catch only the plays whose description says so.
- **Bad input** (a missing or impossible down, distance, yard line, clock, timeouts or
  xpass; a value of the wrong type becomes null): kept with `is_bad_context`, not
  eligible; a missing air yards value on an attempt sets `air_yards_missing`. The build
  never fails on a value.

`model_eligible` is the sample the play models train on; the opponent-defense numbers are
computed from eligible dropbacks only. `passer_id` is whoever the source says dropped back,
so trick-play passers (a receiver throwing after a lateral) appear under their own ids.

## Leakage rules
- `pre_snap` and `at_throw` columns use only the play's own pre-play values and, for the
  opponent numbers, **earlier games**: a game sees the defense's games of the same season
  with a smaller week *and* an earlier date (games of the same week never see each other;
  the playoffs see the whole regular season). Outcomes of the play itself and of its own or
  later games never enter a feature; a test changes every outcome of a game and checks it.
- Opponent strength is shrunk toward the league's season-to-date mean over the same earlier
  games: `(sum + k·prior) / (n + k)` with k = {K_DROPBACKS} dropbacks (EPA) and k = {K_ATTEMPTS}
  attempts (completion rate). In week 1 (no earlier games) the prior is a constant:
  {WEEK1_EPA} EPA per dropback and {WEEK1_CMP} completion rate, the 2016-2024 means of this
  data. EPA sums are exact (micro-points as integers), so a rebuild reproduces every value
  bit for bit.
- Weather: temp/wind nulls are imputed with constants: {INDOOR_TEMP:g} F and {INDOOR_WIND:g} mph
  indoors, {OUTDOOR_TEMP:g} F and {OUTDOOR_WIND:g} mph elsewhere (medians of outdoor dropbacks);
  `weather_missing` marks values that a dome or closed roof does not explain.
- `at_throw` columns are set only when the dropback ended in a throw, which is itself an
  outcome: use them for models conditioned on an attempt.
"""


def render_markdown() -> str:
    """The text of docs/features.md, from the registry."""
    out = [DOC_INTRO]
    for stage in STAGES:
        out.append(f"\n## Stage `{stage}`\n{STAGE_DOCS[stage]}\n")
        out.append("| column | type | source columns | meaning |")
        out.append("|---|---|---|---|")
        for s in specs(stage):
            src = ", ".join(f"`{c}`" for c in s.sources)
            if s.prior_games:
                src += " (earlier games)"
            out.append(f"| `{s.name}` | {s.dtype} | {src} | {s.doc.replace('|', '/')} |")
    return "\n".join(out) + "\n"


DOCS_PATH = Path(__file__).resolve().parents[1] / "docs" / "features.md"


if __name__ == "__main__":  # pragma: no cover - writes the committed doc
    if "--check" in sys.argv:
        sys.exit(0 if DOCS_PATH.read_text() == render_markdown() else 1)
    DOCS_PATH.write_text(render_markdown())
    print(f"wrote {DOCS_PATH}")

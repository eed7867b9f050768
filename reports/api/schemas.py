"""Pydantic response models of the broadcaster API: every answer names its model version and
how fresh its data are; rows use the leaderboard's column names (docs/design.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

from passing_score.pipeline.foundation.vocabulary import COMPONENT_HELP, COMPONENTS

# a timestamp without offset: OpenAPI's "date-time" format (RFC 3339) would require one
LocalDateTime = Annotated[datetime, WithJsonSchema(
    {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$"})]


def _component_fields() -> dict[str, Any]:
    """comp_<c> (50-99 component score) and val_<c> (EPA/dropback contribution) fields."""
    fields: dict[str, Any] = {}
    for c in COMPONENTS:
        what = COMPONENT_HELP.get(c, c)
        fields[f"comp_{c}"] = (float | None, Field(None, description=f"{what}: 50-99 score"))
        fields[f"val_{c}"] = (float | None, Field(
            None, description=f"{what}: contribution to the play value (EPA per dropback)"))
    return fields


class Freshness(BaseModel):
    """How current the warehouse is: the newest ingested game, the last ingest and the newest
    scored week of the model version answered with."""

    last_season: int | None = Field(None, description="season of the newest ingested game")
    last_week: int | None = Field(None, description="week of the newest ingested game")
    last_ingest_at: LocalDateTime | None = Field(
        None, description="time of the last ingest, as ingest_log stores it (no time zone)")
    scored_season: int | None = Field(None, description="newest season with game scores")
    scored_week: int | None = Field(None, description="newest week with game scores")


class Envelope(BaseModel):
    """Fields every data answer carries."""

    model_version: str = Field(description="model version the scores come from")
    freshness: Freshness


class ErrorResponse(BaseModel):
    """An error: one line saying what was wrong."""

    detail: str | list[Any]


class HealthResponse(BaseModel):
    """Liveness plus what the warehouse can answer."""

    status: Literal["ok"] = "ok"
    database: str = Field(description="warehouse file name")
    model_version: str | None = Field(None, description="default model version")
    model_versions: list[str] = Field(default_factory=list)
    season_to_date_boards: bool = Field(
        description="play_predictions present: boards through any week and splits")
    freshness: Freshness


class _BoardRowBase(BaseModel):
    model_config = ConfigDict(extra="ignore")

    rank: int | None = Field(None, description="rank among qualified QBs (1 = best)")
    passer_id: str = Field(description="GSIS id of the QB")
    passer_name: str | None = Field(None, description="abbreviated name (J.Allen)")
    passer_full_name: str | None = Field(
        None, description="full name from nflverse's players table (null when unknown)")
    team: str | None = None
    games: int | None = None
    dropbacks: int | None = None
    score: float | None = Field(None, description="Passing Score, 50-99")
    score_low: float | None = Field(None, description="lower end of the 80% interval")
    score_high: float | None = Field(None, description="upper end of the 80% interval")
    qualified: bool | None = None
    epa_per_dropback: float | None = None
    cpoe: float | None = Field(None, description="completion % over expected, in points")
    score_change: float | None = Field(
        None, description="change vs the previous week's board (game_week boards: vs his "
                          "previous game); null in week 1 or when not computable")
    game_id: str | None = Field(None, description="the game of a game_week row (else null)")
    opponent: str | None = Field(None, description="the opponent of a game_week row")
    final: bool = Field(True, description="false when the row includes a game in progress")
    last_play_at: str | None = Field(None, description="time of day (UTC) of the last play "
                                                       "of that game in progress")


LeaderboardRow = create_model("LeaderboardRow", __base__=_BoardRowBase,
                              __doc__="One QB on a leaderboard.", **_component_fields())


class Page(Envelope):
    """Every list answer: the items under `rows`, `total` items in the whole selection."""

    total: int = Field(description="rows in the whole selection (all pages)")


class Paged(Page):
    """A paginated list answer: `limit` rows from `offset`."""

    limit: int
    offset: int


class LeaderboardResponse(Paged):
    """A page of a leaderboard."""

    season: int
    season_type: str = Field(description="REG, POST or ALL")
    week: int | None = Field(None, description="the season through this week: the last week "
                                               "included in the board")
    game_week: int | None = Field(None, description="the week of a one-week (games only) board")
    split: str | None = None
    min_dropbacks: int | None = None
    rows: list[LeaderboardRow]
    in_progress: list[GameRow] = Field(
        default_factory=list, description="games of this board's season in progress (scored "
        "from partial files), apart from the final ones: their QBs' rows say final false")


class SeasonInfo(BaseModel):
    """One season of one scope (REG / POST / ALL) with scores."""

    season: int
    season_type: str
    qbs: int = Field(description="QBs with a season score")
    qualified: int = Field(description="qualified (ranked) QBs")
    games: int | None = Field(None, description="games with QB game scores")
    first_week: int | None = None
    last_week: int | None = None


class SeasonsResponse(Page):
    """The seasons the API can answer about."""

    model_versions: list[str]
    rows: list[SeasonInfo]


class _SeasonRowBase(BaseModel):
    model_config = ConfigDict(extra="ignore")

    season: int
    season_type: str
    passer_name: str | None = None
    passer_full_name: str | None = None
    team: str | None = None
    games: int | None = None
    team_games: int | None = None
    dropbacks: int | None = None
    score: float | None = None
    score_low: float | None = None
    score_high: float | None = None
    qualified: bool | None = None
    rank: int | None = None
    epa_per_dropback: float | None = None
    cpoe: float | None = None


QBSeasonRow = create_model("QBSeasonRow", __base__=_SeasonRowBase,
                           __doc__="One season (and scope) of a QB.", **_component_fields())


class QBResponse(Page):
    """A QB's season scores."""

    passer_id: str
    passer_name: str | None = None
    passer_full_name: str | None = None
    rows: list[QBSeasonRow]


class _GameRowBase(BaseModel):
    model_config = ConfigDict(extra="ignore")

    game_id: str
    season: int
    season_type: str | None = None
    week: int | None = None
    passer_id: str
    passer_name: str | None = None
    passer_full_name: str | None = None
    team: str | None = None
    opponent: str | None = None
    dropbacks: int | None = None
    score: float | None = None
    score_low: float | None = None
    score_high: float | None = None
    qualified: bool | None = None
    rank: int | None = Field(None, description="rank among the week's qualified games")
    epa_per_dropback: float | None = None
    cpoe: float | None = None
    team_points: int | None = None
    opp_points: int | None = None
    win: float | None = Field(None, description="1 win, 0.5 tie, 0 loss")
    final: bool = Field(True, description="false while the game is in progress (scored from "
                                          "a partial play-by-play file)")
    last_play_at: str | None = Field(None, description="time of day (UTC) of the last play "
                                                       "scored, while not final")
    last_play: str | None = Field(None, description="quarter and clock of the last play "
                                                    "scored, while not final")


GameRow = create_model("GameRow", __base__=_GameRowBase,
                       __doc__="One QB in one game.", **_component_fields())


class QBGamesResponse(Paged):
    """A page of a QB's game scores."""

    passer_id: str
    passer_name: str | None = None
    passer_full_name: str | None = None
    season: int | None = None
    rows: list[GameRow]


class GameScoresResponse(Page):
    """The QBs of one game."""

    game_id: str
    season: int
    season_type: str | None = None
    week: int | None = None
    rows: list[GameRow]


LeaderboardResponse.model_rebuild()  # in_progress names GameRow, defined after it

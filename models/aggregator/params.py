"""The fitted aggregator: a typed record of everything `fit` learns (component weights,
shrinkage constants, the 50-99 scales), stored per model version as JSON in `score_weights`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from scipy.special import ndtri  # scipy.stats.norm.ppf, without importing scipy.stats

from passing_score.pipeline.foundation.vocabulary import COMPONENTS

PARAMS_FORMAT = 1
INTERVAL = 0.80  # central posterior interval of every score
Z_INTERVAL = float(ndtri(0.5 + INTERVAL / 2))
GAME_MIN_DROPBACKS = 15  # a qualified game
SEASON_DROPBACKS_PER_GAME = 14  # a qualified season: dropbacks per team game played
SCALE_LOW, SCALE_SPAN = 50.0, 49.0


@dataclass(frozen=True)
class Scale:
    """The 50-99 map of one level (season or game): mean and sd of the shrunk play value over
    qualified training rows, and of each shrunk component."""

    mean: float
    sd: float
    rows: int
    components: dict[str, tuple[float, float]]


@dataclass(frozen=True)
class WeightFit:
    """How the component weights were fitted (for the method note and docs/scoring.md)."""

    target: str
    pairs: int
    ridge_lambda: float
    cv_mse: dict[str, float]
    r2: float
    epa_sd: float


@dataclass(frozen=True)
class Aggregator:
    """Fitted parameters that turn per-play components into game and season scores."""

    model_version: str
    train_seasons: tuple[int, ...]
    weights: dict[str, float]
    weights_std: dict[str, float]
    component_sd: dict[str, float]
    fit: WeightFit
    sigma2_season: float
    tau2_season: float
    k_season: float
    sigma2_game: float
    tau2_game: float
    k_game: float
    interval: float = INTERVAL
    game_min_dropbacks: int = GAME_MIN_DROPBACKS
    season_dropbacks_per_team_game: int = SEASON_DROPBACKS_PER_GAME
    scales: dict[str, Scale] = field(default_factory=dict)  # "season", "game"; empty while fitting

    def with_scales(self, season: Scale, game: Scale) -> Aggregator:
        """A copy with the 50-99 scales set (the last step of `fit`)."""
        return replace(self, scales={"season": season, "game": game})

    def to_json(self) -> str:
        """The stored form (keys sorted, so equal parameters give equal text)."""
        d: dict[str, Any] = {
            "format": PARAMS_FORMAT, "model_version": self.model_version,
            "train_seasons": list(self.train_seasons), "components": list(COMPONENTS),
            "weights": self.weights, "weights_std": self.weights_std,
            "component_sd": self.component_sd, "fit": asdict(self.fit),
            "sigma2_season": self.sigma2_season, "tau2_season": self.tau2_season,
            "k_season": self.k_season, "sigma2_game": self.sigma2_game,
            "tau2_game": self.tau2_game, "k_game": self.k_game, "interval": self.interval,
            "qualify": {"game_dropbacks": self.game_min_dropbacks,
                        "season_dropbacks_per_team_game": self.season_dropbacks_per_team_game},
            "scale": {level: {"mean": s.mean, "sd": s.sd, "rows": s.rows,
                              "components": {c: list(v) for c, v in s.components.items()}}
                      for level, s in self.scales.items()},
        }
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Aggregator | None:
        """Parse the stored form; None for another format (the caller refits)."""
        d = json.loads(text)
        if d.get("format") != PARAMS_FORMAT:
            return None
        return cls(
            model_version=d["model_version"], train_seasons=tuple(d["train_seasons"]),
            weights=d["weights"], weights_std=d["weights_std"],
            component_sd=d["component_sd"], fit=WeightFit(**d["fit"]),
            sigma2_season=d["sigma2_season"], tau2_season=d["tau2_season"],
            k_season=d["k_season"], sigma2_game=d["sigma2_game"], tau2_game=d["tau2_game"],
            k_game=d["k_game"], interval=d["interval"],
            game_min_dropbacks=d["qualify"]["game_dropbacks"],
            season_dropbacks_per_team_game=d["qualify"]["season_dropbacks_per_team_game"],
            scales={level: Scale(s["mean"], s["sd"], s["rows"],
                                 {c: (v[0], v[1]) for c, v in s["components"].items()})
                    for level, s in d.get("scale", {}).items()},
        )

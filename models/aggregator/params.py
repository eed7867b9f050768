"""The fitted aggregator: typed, frozen records of everything `fit` learns (the candidate's
configuration, component weights, the season and game priors, the one 50-99 scale), stored per
model version as JSON in `score_weights` (docs/scoring.md).

Vectors and matrices are tuples of floats, so a fitted model is immutable and compares by
value; `arr` turns them into numpy arrays where the maths needs them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

PARAMS_FORMAT = 2  # 1: the five-component aggregator before issue 15 (refitted when found)
INTERVAL = 0.80  # central posterior interval of every score
# Phi^-1(0.5 + INTERVAL / 2) as scipy's ndtri gives it (tests check it): a literal keeps
# scipy.special, ~0.2 s of imports, off the weekly job and the API
Z_INTERVAL = 1.2815515655446004
GAME_MIN_DROPBACKS = 15  # a qualified game
SEASON_DROPBACKS_PER_GAME = 14  # a qualified season: dropbacks per team game played
BOARD_MIN = 200  # scored dropbacks of a QB-season in the prior's population (the board)
HALF_MIN = 50  # scored dropbacks in each half of a QB-season behind the weights
NEXT_MIN = 200  # scored dropbacks of both seasons of a next-season pair
FILL_IN_SHARE = 0.5  # a fill-in: under half of his team's dropbacks to date
SCALE_LOW, SCALE_SPAN = 50.0, 49.0

SHRINKS = ("multivariate", "univariate")
PRIORS = ("board", "league", "role")
TARGETS = ("other_half", "next_season", "both")
GAME_PRIORS = ("role", "same")

Vec = tuple[float, ...]
Mat = tuple[Vec, ...]


def vec(a: Any) -> Vec:
    """A 1-d array as a tuple of floats."""
    return tuple(float(x) for x in np.asarray(a, dtype=np.float64).ravel())


def mat(a: Any) -> Mat:
    """A 2-d array as a tuple of row tuples."""
    return tuple(vec(row) for row in np.asarray(a, dtype=np.float64))


def arr(x: Vec | Mat) -> np.ndarray:
    """A stored vector or matrix as a float64 array."""
    return np.asarray(x, dtype=np.float64)


@dataclass(frozen=True)
class Config:
    """One candidate aggregator: components, shrinkage, prior, weight target (docs/scoring.md).

    shrink: "multivariate" (each component by its own reliability) or "univariate" (one
    shrinkage of the play value). prior: "board" (QB-seasons with >= BOARD_MIN scored
    dropbacks), "league" (centred on the league, mean 0) or "role" (board, with a fill-in
    offset for QBs under half of their team's dropbacks; report-only). target: what the
    weights predict (other-half EPA/db, next-season EPA/db or both). clustered: season noise
    includes game-to-game swings. boot: bootstrap refits of the priors that widen intervals.
    game_prior: "role" (fill-in games start from the fill-in game average) or "same".
    """

    name: str
    components: tuple[str, ...]
    shrink: str = "multivariate"
    prior: str = "board"
    target: str = "other_half"
    clustered: bool = True
    boot: int = 50
    game_prior: str = "role"

    def __post_init__(self) -> None:
        for value, allowed in ((self.shrink, SHRINKS), (self.prior, PRIORS),
                               (self.target, TARGETS), (self.game_prior, GAME_PRIORS)):
            if value not in allowed:
                raise ValueError(f"aggregator config {self.name}: {value!r} not in {allowed}")
        if not self.components:
            raise ValueError(f"aggregator config {self.name}: no components")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "components": list(self.components)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        """Inverse of to_dict."""
        return cls(**{**d, "components": tuple(d["components"])})


@dataclass(frozen=True)
class Prior:
    """Normal prior of true league-relative component means at one level (season or game).

    mean, cov: the population's mean and covariance of true means (mu, T); noise: the
    within-QB-game covariance of plays (Sigma); game_to_game: covariance of a QB's true game
    means around his season level (D, season level when clustered); fill_in: the prior-mean
    shift of a fill-in's row (None: no role prior); boot: bootstrap refits of (mean, cov).
    """

    mean: Vec
    cov: Mat
    noise: Mat
    game_to_game: Mat | None = None
    fill_in: Vec | None = None
    boot: tuple[tuple[Vec, Mat], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"mean": list(self.mean), "cov": [list(r) for r in self.cov],
                "noise": [list(r) for r in self.noise],
                "game_to_game": None if self.game_to_game is None
                else [list(r) for r in self.game_to_game],
                "fill_in": None if self.fill_in is None else list(self.fill_in),
                "boot": [[list(m), [list(r) for r in t]] for m, t in self.boot]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Prior:
        """Inverse of to_dict."""
        return cls(mean=vec(d["mean"]), cov=mat(d["cov"]), noise=mat(d["noise"]),
                   game_to_game=None if d.get("game_to_game") is None
                   else mat(d["game_to_game"]),
                   fill_in=None if d.get("fill_in") is None else vec(d["fill_in"]),
                   boot=tuple((vec(m), mat(t)) for m, t in d.get("boot", [])))


@dataclass(frozen=True)
class Scale:
    """The one 50-99 map of games, season-to-date boards and seasons: centre and spread of the
    board population's true values, and each component's (prior mean, prior sd)."""

    mean: float
    sd: float
    components: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class FitSummary:
    """How the weights and priors were fitted (the method note and docs/scoring.md)."""

    target: str
    pairs: int
    ridge_lambda: float
    cv_mse: dict[str, float]
    r2: float
    epa_sd: float
    board_seasons: int
    qualified_games: int
    reliability_400: dict[str, float]


@dataclass(frozen=True)
class Aggregator:
    """A fitted aggregator: per-play components in, game / season scores out."""

    model_version: str
    train_seasons: tuple[int, ...]
    config: Config
    weights: dict[str, float]  # EPA/dropback per unit of each true component mean
    weights_std: dict[str, float]
    season: Prior
    game: Prior
    scale: Scale
    fit: FitSummary
    interval: float = INTERVAL
    game_min_dropbacks: int = GAME_MIN_DROPBACKS
    season_dropbacks_per_team_game: int = SEASON_DROPBACKS_PER_GAME

    @property
    def components(self) -> tuple[str, ...]:
        """The components, in the order of every vector and matrix."""
        return self.config.components

    @property
    def w(self) -> np.ndarray:
        """The weights as a vector in component order."""
        return np.array([self.weights[c] for c in self.components], dtype=np.float64)

    def prior(self, level: str) -> Prior:
        """The season or game prior."""
        return self.season if level == "season" else self.game

    def to_json(self) -> str:
        """The stored form (keys sorted, so equal parameters give equal text)."""
        d: dict[str, Any] = {
            "format": PARAMS_FORMAT, "model_version": self.model_version,
            "train_seasons": list(self.train_seasons), "config": self.config.to_dict(),
            "weights": self.weights, "weights_std": self.weights_std,
            "season": self.season.to_dict(), "game": self.game.to_dict(),
            "scale": {"mean": self.scale.mean, "sd": self.scale.sd,
                      "components": {c: list(v) for c, v in self.scale.components.items()}},
            "fit": asdict(self.fit), "interval": self.interval,
            "qualify": {"game_dropbacks": self.game_min_dropbacks,
                        "season_dropbacks_per_team_game": self.season_dropbacks_per_team_game},
        }
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Aggregator | None:
        """Parse the stored form; None for another format (the caller refits)."""
        d = json.loads(text)
        if d.get("format") != PARAMS_FORMAT:
            return None
        sc = d["scale"]
        return cls(
            model_version=d["model_version"], train_seasons=tuple(d["train_seasons"]),
            config=Config.from_dict(d["config"]), weights=d["weights"],
            weights_std=d["weights_std"], season=Prior.from_dict(d["season"]),
            game=Prior.from_dict(d["game"]),
            scale=Scale(sc["mean"], sc["sd"],
                        {c: (v[0], v[1]) for c, v in sc["components"].items()}),
            fit=FitSummary(**d["fit"]), interval=d["interval"],
            game_min_dropbacks=d["qualify"]["game_dropbacks"],
            season_dropbacks_per_team_game=d["qualify"]["season_dropbacks_per_team_game"])

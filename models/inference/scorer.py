"""The play models of a version as plain arrays, evaluated by compiled kernels: what scoring
needs, loadable without torch or scikit-learn (each costs a second of imports that the weekly
update and a live game cannot afford).

`Scorer.from_play_models` reads the fitted estimators once (at training, or the first time an
older artifact is scored); `save` / `load` keep it beside the artifact as `scorer.npz` (arrays)
and `scorer.json` (encoders, distribution settings and the probability models' drift state).

Drift (issue 17): a probability model may carry a logit shift for seasons after the newest one
it saw (`season_offset`, `last_season`) and an in-season league-level update (`tau`): week k's
logit is shifted by the MAP level of the same season's weeks < k (`models.drift`), which the
caller supplies as `history` (dropbacks with outcomes). Both are added to the Platt logit.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from passing_score.models.encoding import TabularEncoder
from passing_score.models.samples import YAC_EPA_SAMPLE

FORMAT = 5  # 4: drift state of the probability models and the gain's goal line; 5: context
PROBABILITIES = ("completion", "interception", "sack")
CONTEXT = ("xepa", "success", "xyac")  # models.context.ContextModels fields
TREE_FIELDS = ("feature", "threshold", "missing_left", "left", "depth", "value", "tree_start",
               "tree_class", "baseline")


def _breadth_first(nodes: np.ndarray, offset: int) -> tuple[dict[str, np.ndarray], int]:
    """One sklearn tree re-laid breadth first: children side by side (right = left + 1),
    leaves pointing to themselves with a +inf threshold; and its depth."""
    order, pos, depth = [0], {0: 0}, int(nodes["depth"].max())
    for i in order:  # grows while iterating: a breadth-first walk
        if not nodes["is_leaf"][i]:
            for child in (int(nodes["left"][i]), int(nodes["right"][i])):
                pos[child] = len(order)
                order.append(child)
    idx = np.asarray(order)
    leaf = nodes["is_leaf"][idx].astype(bool)
    left = np.array([offset + (pos[int(nodes["left"][i])] if not nodes["is_leaf"][i]
                               else pos[i]) for i in order], np.int64)
    return {"feature": np.where(leaf, 0, nodes["feature_idx"][idx]).astype(np.int32),
            "threshold": _round_down32(np.where(leaf, np.inf, nodes["num_threshold"][idx])),
            "missing_left": np.where(leaf, 1, nodes["missing_go_to_left"][idx]).astype(np.uint8),
            "left": left.astype(np.int32), "value": nodes["value"][idx].astype(np.float64)}, depth


def _round_down32(t: np.ndarray) -> np.ndarray:
    """The largest float32 <= each float64 threshold: for float32 x, x <= it iff x <= t."""
    t32 = t.astype(np.float32)
    over = t32.astype(np.float64) > t
    return np.where(over, np.nextafter(t32, np.float32(-np.inf)), t32).astype(np.float32)


@dataclass
class Trees:
    """A histogram-gradient-boosting ensemble: flat node arrays, trees in fitting order."""

    arrays: dict[str, np.ndarray]
    classes: np.ndarray

    @classmethod
    def of(cls, model: Any) -> Trees:
        """Read a fitted sklearn HistGradientBoostingClassifier (numeric splits only)."""
        parts: list[dict[str, np.ndarray]] = []
        start, klass, depth = [], [], []
        offset = 0
        for iteration in model._predictors:
            for k, predictor in enumerate(iteration):
                nodes = predictor.nodes
                if nodes["is_categorical"].any():
                    raise ValueError("categorical splits are not supported by the scorer")
                tree, d = _breadth_first(nodes, offset)
                parts.append(tree)
                start.append(offset)
                klass.append(k)
                depth.append(d)
                offset += len(nodes)
        arrays = {f: np.concatenate([p[f] for p in parts]) for f in
                  ("feature", "threshold", "missing_left", "left", "value")}
        if offset >= 2**31:
            raise ValueError("tree ensemble too large for the scorer")
        arrays |= {"depth": np.asarray(depth, np.int64),
                   "tree_start": np.asarray(start, np.int32),
                   "tree_class": np.asarray(klass, np.int64),
                   "baseline": np.asarray(model._baseline_prediction, np.float64).ravel()}
        return cls(arrays, np.asarray(getattr(model, "classes_", [])))  # regressors: none

    def raw(self, X: np.ndarray) -> np.ndarray:
        """(n, trees per iteration) raw scores."""
        from passing_score.models.inference.kernels import tree_raw

        a = self.arrays
        return tree_raw(np.ascontiguousarray(X, np.float32), *(a[f] for f in TREE_FIELDS))

    def value(self, X: np.ndarray) -> np.ndarray:
        """A regressor's prediction (squared error: the raw score itself)."""
        return self.raw(X)[:, 0]

    def proba(self, X: np.ndarray) -> np.ndarray:
        """(n, n_classes) class probabilities: expit of the margin, or a softmax."""
        raw = self.raw(X)
        if raw.shape[1] == 1:
            p1 = 1.0 / (1.0 + np.exp(-raw[:, 0]))
            return np.column_stack([1 - p1, p1])
        e = np.exp(raw - raw.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


@dataclass
class Net:
    """An MLP (Linear -> SiLU ... -> Linear) and the SBP family config of its output."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    cfg: np.ndarray  # see kernels.sbp_prepare

    @classmethod
    def of(cls, regressor: Any) -> Net:
        """Read a fitted DistributionRegressor of the SBP family."""
        import torch

        fam = regressor.family_
        if getattr(fam, "name", None) != "sbp":
            raise ValueError("only SBP yards networks are scored by the scorer")
        linears = [m for m in regressor.net_ if isinstance(m, torch.nn.Linear)]
        out = fam.out
        cfg = np.array([out.n_bins, out.low, (out.high - out.low) / out.n_bins, out.alpha,
                        out.xi_min, out.xi_max, out._xi_offset, out.beta_scale, out.beta_eps,
                        fam.eps, fam._centre, fam._scale, math.log(out.alpha)], np.float64)
        return cls([m.weight.detach().numpy().astype(np.float32) for m in linears],
                   [m.bias.detach().numpy().astype(np.float32) for m in linears], cfg)

    def raw(self, X: np.ndarray) -> np.ndarray:
        """The network's float32 output (n, width)."""
        h = np.asarray(X, np.float32)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = h @ w.T + b
            if i < last:
                h = h / (np.float32(1) + np.exp(-h))
        return np.ascontiguousarray(h)


def _platt(calibrator: Any) -> tuple[float, float]:
    return float(calibrator.coef_[0, 0]), float(calibrator.intercept_[0])


@dataclass(frozen=True)
class Level:
    """Drift state of one probability model (ProbabilityModel's fields of the same names):
    a logit shift for seasons after `last_season`, the in-season update's prior sd `tau`."""

    season_offset: float = 0.0
    last_season: int | None = None
    tau: float | None = None

    @classmethod
    def of(cls, model: Any) -> Level:
        """Read a fitted ProbabilityModel (older pickles have no drift state)."""
        last = getattr(model, "last_season", None)
        tau = getattr(model, "in_season_tau", None)
        return cls(float(getattr(model, "season_offset", 0.0) or 0.0),
                   None if last is None else int(last), None if tau is None else float(tau))


@dataclass
class Scorer:
    """Everything `models.predict` needs from a version's play models."""

    encoders: dict[str, TabularEncoder]
    trees: dict[str, Trees]  # completion, interception, sack, yac_td, components
    platt: dict[str, tuple[float, float]]
    nets: dict[str, Net]  # air_yards, yac, sack_yards, gain_yards
    constants: dict[str, float]  # context models fitted as their sample mean (too few rows)
    levels: dict[str, Level] = field(default_factory=dict)  # completion, interception, sack

    @classmethod
    def from_play_models(cls, pm: Any) -> Scorer:
        """Read the fitted play models (imports torch and scikit-learn's classes)."""
        enc = {n: getattr(pm, n).encoder for n in (*PROBABILITIES, "yac", "air_yards",
                                                   "dropback_yards")}
        trees = {n: Trees.of(getattr(pm, n).model) for n in PROBABILITIES}
        trees["yac_td"] = Trees.of(pm.yac.touchdown)
        trees["components"] = Trees.of(pm.dropback_yards.components)
        gain_td = getattr(pm.dropback_yards, "gain_touchdown", None)
        if gain_td is not None:
            trees["gain_td"] = Trees.of(gain_td)
        platt = {n: _platt(getattr(pm, n).calibrator) for n in PROBABILITIES}
        nets = {"air_yards": Net.of(pm.air_yards.model), "yac": Net.of(pm.yac.body),
                "sack_yards": Net.of(pm.dropback_yards.sack),
                "gain_yards": Net.of(pm.dropback_yards.gain)}
        if getattr(pm, "context", None) is None:
            from passing_score.models.artifact import ArtifactError

            raise ArtifactError("these play models have no context models (trained before "
                                "the score's points components): retrain with `passing-score "
                                "train`")
        constants = {}
        for name in CONTEXT:
            boosted = getattr(pm.context, name)
            enc[f"ctx_{name}"] = boosted.encoder
            if boosted.model is None:
                constants[name] = float(boosted.constant)
            else:
                trees[f"ctx_{name}"] = Trees.of(boosted.model)
        levels = {n: Level.of(getattr(pm, n)) for n in PROBABILITIES}
        return cls(enc, trees, platt, nets, constants, levels)

    # -------------------------------------------------------------- predictions

    def logit(self, name: str, df: pl.DataFrame) -> np.ndarray:
        """Platt-scaled logit of a probability model plus its shift for seasons after the
        newest one it saw (no in-season update)."""
        raw = self.trees[name].proba(self.encoders[name].transform(df))[:, 1]
        p = np.clip(raw, 1e-6, 1 - 1e-6)
        coef, intercept = self.platt[name]
        z = (np.log(p / (1 - p))[:, None] @ np.array([[coef]]) + intercept)[:, 0]
        lv = self.levels.get(name)
        if lv is not None and lv.season_offset and lv.last_season is not None:
            z = z + np.where(df["season"].to_numpy() > lv.last_season, lv.season_offset, 0.0)
        return z

    def in_season(self, name: str) -> bool:
        """Whether a probability model updates the league level within a season."""
        lv = self.levels.get(name)
        return lv is not None and lv.tau is not None

    def level_table(self, name: str, history: pl.DataFrame) -> pl.DataFrame | None:
        """(season, week, offset): week k's in-season logit shift from the outcomes of the
        same season's weeks < k among `history`'s rows in the target's sample (None when the
        model has no in-season update or history has no rows)."""
        from passing_score.models.drift import in_season_offsets
        from passing_score.models.samples import TARGETS

        lv = self.levels.get(name)
        if lv is None or lv.tau is None:
            return None
        t = TARGETS[name]
        s = history.filter(t.sample.fill_null(False))
        if s.height == 0:
            return None
        d = in_season_offsets(s["season"].to_numpy(), s["week"].to_numpy(), self.logit(name, s),
                              s[t.target].to_numpy().astype(float), lv.tau)
        return (pl.DataFrame({"season": s["season"], "week": s["week"], "offset": d})
                .unique(["season", "week"]).sort("season", "week"))

    def probability(self, name: str, df: pl.DataFrame, history: pl.DataFrame | None = None,
                    table: pl.DataFrame | None = None) -> np.ndarray:
        """P(target) of a probability model (ProbabilityModel.predict); with `history` (or
        its `level_table`) and an in-season update, each row's week k shifted by the level of
        its season's weeks < k (ProbabilityModel.predict_in_season when history is df)."""
        z = self.logit(name, df)
        if table is None and history is not None:
            table = self.level_table(name, history)
        if table is not None:
            z = z + level_shift(table, df)
        return 1.0 / (1.0 + np.exp(-z))

    def summary(self, name: str, df: pl.DataFrame, y: np.ndarray) -> np.ndarray:
        """(n, 5) mean, q10, q50, q90 and mid PIT of a yards model's forecasts of y."""
        from passing_score.models.inference import kernels as k

        y = np.ascontiguousarray(y, np.float64)
        X = self.encoders[name].transform(df)
        n = len(X)
        none = np.zeros(n)
        if name == "air_yards":
            a = self.nets["air_yards"]
            return np.asarray(k.summaries(0, a.raw(X), a.cfg, a.raw(X[:0]), a.cfg,
                                          np.zeros((n, 3)), none, none, y))
        if name == "yac":
            a = self.nets["yac"]
            p_td = np.ascontiguousarray(self.trees["yac_td"].proba(X)[:, 1])
            goal = np.maximum(df["air_to_goal"].fill_null(100).to_numpy().astype(float), 0.0)
            return np.asarray(k.summaries(1, a.raw(X), a.cfg, a.raw(X[:0]), a.cfg,
                                          np.zeros((n, 3)), p_td, np.ascontiguousarray(goal), y))
        comp = self.trees["components"]
        w = np.zeros((n, 3))
        w[:, comp.classes.astype(int)] = comp.proba(X)
        s, g = self.nets["sack_yards"], self.nets["gain_yards"]
        if "gain_td" in self.trees:  # the goal line in the gain part (kernel kind 3)
            p_gain_td = np.ascontiguousarray(self.trees["gain_td"].proba(X)[:, 1])
            line = np.ascontiguousarray(
                df["yardline_100"].fill_null(100).to_numpy().astype(float))
            return np.asarray(k.summaries(3, s.raw(X), s.cfg, g.raw(X), g.cfg, w, p_gain_td,
                                          line, y))
        return np.asarray(k.summaries(2, s.raw(X), s.cfg, g.raw(X), g.cfg, w, none, none, y))

    def context(self, df: pl.DataFrame) -> dict[str, np.ndarray]:
        """Columns xepa, p_success (every row) and xyac_epa (completions in the CP sample,
        NaN elsewhere): `ContextModels.predict` from the arrays."""
        def one(name: str, rows: pl.DataFrame) -> np.ndarray:
            if name in self.constants or rows.height == 0:
                return np.full(rows.height, self.constants.get(name, np.nan))
            t = self.trees[f"ctx_{name}"]
            x = self.encoders[f"ctx_{name}"].transform(rows)
            return t.proba(x)[:, 1] if len(t.classes) else t.value(x)

        mask = df.select(YAC_EPA_SAMPLE.fill_null(False)).to_series().to_numpy()
        xyac = np.full(df.height, np.nan)
        if mask.any():
            xyac[mask] = one("xyac", df.filter(pl.Series(mask)))
        return {"xepa": one("xepa", df), "p_success": one("success", df), "xyac_epa": xyac}

    # -------------------------------------------------------------- files

    def save(self, folder: Path) -> None:
        """scorer.npz + scorer.json in `folder`, each written through a temporary file."""
        arrays: dict[str, np.ndarray] = {}
        for name, t in self.trees.items():
            arrays |= {f"trees/{name}/{f}": v for f, v in t.arrays.items()}
            arrays[f"trees/{name}/classes"] = t.classes
        for name, n in self.nets.items():
            arrays[f"nets/{name}/cfg"] = n.cfg
            for i, (w, b) in enumerate(zip(n.weights, n.biases, strict=True)):
                arrays[f"nets/{name}/w{i}"], arrays[f"nets/{name}/b{i}"] = w, b
        meta = {"format": FORMAT, "platt": self.platt, "constants": self.constants,
                "trees": sorted(self.trees),
                "levels": {n: [lv.season_offset, lv.last_season, lv.tau]
                           for n, lv in self.levels.items()},
                "encoders": {n: e.to_dict() for n, e in self.encoders.items()},
                "layers": {n: len(v.weights) for n, v in self.nets.items()}}
        tmp = folder / ".scorer.npz.tmp"
        with tmp.open("wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]
        tmp.replace(folder / "scorer.npz")
        tmp = folder / ".scorer.json.tmp"
        tmp.write_text(json.dumps(meta))
        tmp.replace(folder / "scorer.json")

    @classmethod
    def load(cls, folder: Path) -> Scorer | None:
        """The saved scorer, or None when absent, of another format or unreadable."""
        try:
            meta = json.loads((folder / "scorer.json").read_text())
            if meta.get("format") != FORMAT:
                return None
            with np.load(folder / "scorer.npz", allow_pickle=False) as z:
                a = {k: z[k] for k in z.files}
        except (OSError, ValueError, KeyError):
            return None
        trees = {}
        for name in meta["trees"]:
            trees[name] = Trees({f: a[f"trees/{name}/{f}"] for f in TREE_FIELDS},
                                a[f"trees/{name}/classes"])
        nets = {name: Net([a[f"nets/{name}/w{i}"] for i in range(n)],
                          [a[f"nets/{name}/b{i}"] for i in range(n)], a[f"nets/{name}/cfg"])
                for name, n in meta["layers"].items()}
        platt = {n: (float(c), float(i)) for n, (c, i) in meta["platt"].items()}
        enc = {n: TabularEncoder.from_dict(d) for n, d in meta["encoders"].items()}
        if any(not math.isfinite(c) for c, _ in platt.values()):
            return None
        levels = {n: Level(float(o), None if last is None else int(last),
                           None if tau is None else float(tau))
                  for n, (o, last, tau) in meta.get("levels", {}).items()}
        return cls(enc, trees, platt, nets,
                   {n: float(v) for n, v in meta["constants"].items()}, levels)


def level_shift(table: pl.DataFrame, df: pl.DataFrame) -> np.ndarray:
    """In-season offsets of df's rows: its (season, week) row of `table`, else the offset of
    the season's latest earlier week in the table; 0 for a season the table does not hold.
    (The scoring stage passes the scored seasons' dropbacks as history, so every scored week
    is in the table.)"""
    if df.height == 0:
        return np.zeros(0)
    keys = df.select(pl.col("season").cast(pl.Int64), pl.col("week").cast(pl.Int64),
                     pl.int_range(pl.len()).alias("_i"))
    tab = table.select(pl.col("season").cast(pl.Int64), pl.col("week").cast(pl.Int64),
                       pl.col("offset"))
    j = keys.sort("week").join_asof(tab.sort("week"), on="week", by="season",
                                    strategy="backward", check_sortedness=False).sort("_i")
    return j["offset"].fill_null(0.0).to_numpy()

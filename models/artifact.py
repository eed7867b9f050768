"""Versioned model artifacts under data/models/<version>/: weights, features, seasons, metrics.

An artifact is `meta.json` (version, train and validation seasons, feature lists, selection,
validation metrics, code version) plus `play_models.joblib` and, once `evaluate` (or
`train --baselines`) has fitted them, `baselines.joblib` (the fitted estimators, torch weights
inside). Loading checks every file and names the broken one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from passing_score.models.samples import TARGETS
from passing_score.pipeline.foundation.errors import PassingScoreError

FORMAT = 1


class ArtifactError(PassingScoreError):
    """A model artifact is missing or unreadable (the message names the file)."""


def code_version() -> str:
    """git commit of the code (with -dirty when the tree has changes), else the package version."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=10", "HEAD"],
                              capture_output=True, text=True, check=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--",
                                "models", "features"], capture_output=True, text=True,
                               check=True, timeout=5).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "pkg-" + version("qb-passing-score")


def make_version(train_seasons: list[int], val_season: int, n_rows: int, seed: int) -> str:
    """Deterministic version: same code, seasons and data size give the same version."""
    key = json.dumps([code_version(), train_seasons, val_season, n_rows, seed, FORMAT])
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"pm-{min(train_seasons)}-{val_season}-{digest}"


@dataclass
class Artifact:
    """A loaded artifact: its metadata at once, the fitted models when first used (reading
    them imports torch and scikit-learn), the scorer from `scorer.npz` when present."""

    path: Path
    meta: dict[str, Any]
    _play_models: Any = None
    _baselines: Any = None
    _scorer: Any = None

    @property
    def version(self) -> str:
        """The model version."""
        return str(self.meta["version"])

    @property
    def play_models(self) -> Any:
        """The fitted play models (play_models.joblib)."""
        if self._play_models is None:
            self._play_models = _load_part(self.path / "play_models.joblib")
        return self._play_models

    @property
    def baselines(self) -> Any:
        """The comparison baselines, or None until `evaluate` has fitted them."""
        if self._baselines is None and (self.path / "baselines.joblib").exists():
            self._baselines = _load_part(self.path / "baselines.joblib")
        return self._baselines

    @baselines.setter
    def baselines(self, value: Any) -> None:
        self._baselines = value

    @property
    def scorer(self) -> Any:
        """The play models as arrays for scoring (models.inference.Scorer): read from
        scorer.npz, else made from the fitted models once and saved beside them."""
        if self._scorer is None:
            from passing_score.models.inference import Scorer

            sc = Scorer.load(self.path)
            if sc is None:
                sc = Scorer.from_play_models(self.play_models)
                with contextlib.suppress(OSError):  # a read-only folder: made again next time
                    sc.save(self.path)
            self._scorer = sc
        return self._scorer


def save(root: Path, meta: dict[str, Any], play_models: Any, baselines: Any) -> Path:
    """Write an artifact atomically (a temp folder renamed into place)."""
    final = root / meta["version"]
    tmp = root / f".{meta['version']}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    import joblib

    joblib.dump(play_models, tmp / "play_models.joblib")
    from passing_score.models.inference import Scorer

    Scorer.from_play_models(play_models).save(tmp)
    if baselines is not None:
        joblib.dump(baselines, tmp / "baselines.joblib")
    meta = {**meta, "format": FORMAT, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                 time.gmtime()),
            "features": {n: list(t.features) for n, t in TARGETS.items()}}
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final


def add_baselines(path: Path, baselines: Any) -> None:
    """Store baselines trained later (by `evaluate`) beside the play models."""
    import joblib

    tmp = path / ".baselines.joblib.tmp"
    joblib.dump(baselines, tmp)
    tmp.rename(path / "baselines.joblib")


def read_meta(path: Path) -> dict[str, Any]:
    """meta.json of an artifact folder."""
    f = path / "meta.json"
    try:
        return json.loads(f.read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"model artifact {f} is missing or not valid JSON: {exc}") from exc


def _load_part(f: Path) -> Any:
    """One joblib file of an artifact; unreadable is an ArtifactError naming it."""
    import joblib

    try:
        return joblib.load(f)
    except Exception as exc:  # pickle, EOF, zlib ... all mean the same to a user
        raise ArtifactError(f"model artifact file {f} cannot be loaded "
                            f"({type(exc).__name__}); retrain with `passing-score train`"
                            ) from exc


def load(path: Path, models: bool = True) -> Artifact:
    """Load an artifact; a missing or corrupt file is an ArtifactError naming it. With
    `models=False` only the metadata is read now (scoring reads scorer.npz, and the fitted
    models only when that is missing)."""
    art = Artifact(path, read_meta(path))
    if models:
        _ = art.play_models, art.baselines
    return art


def list_artifacts(root: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every artifact folder with readable metadata, newest validation season first."""
    out = []
    if root.is_dir():
        for d in sorted(root.iterdir()):
            if d.is_dir() and not d.name.startswith(".") and (d / "meta.json").exists():
                try:
                    out.append((d, read_meta(d)))
                except ArtifactError:
                    continue
    return sorted(out, key=lambda x: (x[1].get("val_season", 0), x[1].get("saved_at", "")),
                  reverse=True)


def find_for_holdout(root: Path, holdout: int) -> Path | None:
    """The newest artifact trained only on seasons before `holdout`."""
    for d, meta in list_artifacts(root):
        seasons = [*meta.get("train_seasons", []), meta.get("val_season", holdout)]
        if seasons and max(seasons) < holdout:
            return d
    return None


def resolve(root: Path, version: str | None = None) -> Path:
    """The artifact folder of `version`, or the newest one; a clear error when there is none."""
    if version is not None:
        path = root / version
        if not (path / "meta.json").exists():
            have = ", ".join(m["version"] for _, m in list_artifacts(root)) or "none"
            raise ArtifactError(f"model version {version!r} not found under {root} (have: {have})")
        return path
    found = list_artifacts(root)
    if not found:
        raise ArtifactError(f"no trained model under {root}: run `passing-score train` first")
    return found[0][0]

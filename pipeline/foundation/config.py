"""Settings shared by every stage: where the warehouse and the data live (env or CLI)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _default_shared() -> Path:
    return PROJECT_ROOT.parent / "shared" / "nflverse"


class Settings(BaseSettings):
    """Paths and defaults; every field can be set as PASSING_SCORE_<NAME> in the environment."""

    model_config = SettingsConfigDict(env_prefix="PASSING_SCORE_", extra="ignore")

    db: Path = Field(default=PROJECT_ROOT / "data" / "warehouse.duckdb")
    data_dir: Path = Field(default=PROJECT_ROOT / "data")
    shared: Path = Field(default_factory=_default_shared)
    # load the compiled scoring kernels on a thread while the weekly job ingests (0: in turn)
    warm_kernels: bool = True

    @property
    def raw_dir(self) -> Path:
        """Folder of play-by-play files used when the shared nflverse copy is absent."""
        return self.data_dir / "raw"

    @property
    def models_dir(self) -> Path:
        """Where versioned model artifacts are saved."""
        return self.data_dir / "models"

    @property
    def default_pbp_path(self) -> Path:
        """`../shared/nflverse/pbp` when it exists, else `data/raw`."""
        shared_pbp = self.shared / "pbp"
        return shared_pbp if shared_pbp.is_dir() else self.raw_dir


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit (non-None) overrides applied."""
    return Settings.model_validate({k: v for k, v in overrides.items() if v is not None})

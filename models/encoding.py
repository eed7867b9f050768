"""Turn `dropbacks` feature columns into a float matrix: scaled numbers + one-hot categories."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from passing_score.pipeline.foundation.scalars import as_float


class TabularEncoder:
    """Fit on training rows: numeric columns are median-imputed (with a missing indicator where
    nulls were seen) and standardized; text columns are one-hot over the training categories.

    Its state is JSON-able (`to_dict` / `from_dict`) for inspection and tests; artifacts store
    it inside the joblib (pickle) file with the rest of the fitted models.
    """

    def __init__(self, numeric: list[str], categorical: list[str]) -> None:
        self.numeric = list(numeric)
        self.categorical = list(categorical)

    def fit(self, df: pl.DataFrame) -> TabularEncoder:
        """Learn medians, scales, which columns get a missing indicator, and categories."""
        self.medians_: dict[str, float] = {}
        self.scales_: dict[str, float] = {}
        self.missing_: list[str] = []
        for c in self.numeric:
            s = df[c].cast(pl.Float64)
            med = s.median()
            self.medians_[c] = as_float(med)
            filled = s.fill_null(self.medians_[c])
            self.scales_[c] = as_float(filled.std(), 1.0) or 1.0
            if s.null_count() > 0:
                self.missing_.append(c)
        self.categories_ = {c: sorted(str(v) for v in df[c].drop_nulls().unique().to_list())
                            for c in self.categorical}
        return self

    @property
    def feature_names_(self) -> list[str]:
        """Names of the output matrix columns."""
        out = list(self.numeric) + [f"{c}_missing" for c in self.missing_]
        for c in self.categorical:
            out += [f"{c}={v}" for v in self.categories_[c]]
        return out

    def transform(self, df: pl.DataFrame) -> np.ndarray:
        """float32 matrix of the columns in `feature_names_` order."""
        missing = [c for c in self.numeric + self.categorical if c not in df.columns]
        if missing:
            raise KeyError(f"columns missing for the model: {', '.join(missing)}")
        exprs: list[pl.Expr] = [
            ((pl.col(c).cast(pl.Float64).fill_null(self.medians_[c]) - self.medians_[c])
             / self.scales_[c]).alias(c) for c in self.numeric
        ]
        exprs += [pl.col(c).is_null().cast(pl.Float64).alias(f"{c}_missing") for c in self.missing_]
        for c in self.categorical:
            exprs += [(pl.col(c).cast(pl.String) == v).fill_null(False).cast(pl.Float64)
                      .alias(f"{c}={v}") for v in self.categories_[c]]
        return df.select(exprs).to_numpy().astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state."""
        return {"numeric": self.numeric, "categorical": self.categorical,
                "medians": self.medians_, "scales": self.scales_, "missing": self.missing_,
                "categories": self.categories_}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TabularEncoder:
        """Rebuild a fitted encoder from `to_dict` output."""
        enc = cls(d["numeric"], d["categorical"])
        enc.medians_, enc.scales_ = d["medians"], d["scales"]
        enc.missing_, enc.categories_ = d["missing"], d["categories"]
        return enc

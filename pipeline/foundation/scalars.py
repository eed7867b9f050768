"""Scalars out of frames: polars aggregates are typed as any Python literal, so numbers are
converted in one place, with missing values made explicit."""

from __future__ import annotations

from typing import Any


def as_float(value: Any, default: float = 0.0) -> float:
    """A numeric scalar (polars aggregate, numpy number) as float; None gives `default`."""
    return default if value is None else float(value)


def as_int(value: Any, default: int = 0) -> int:
    """A numeric scalar as int; None gives `default`."""
    return default if value is None else int(value)

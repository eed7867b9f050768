"""Football splits a board can be restricted to: a SQL predicate over `dropbacks` (alias d),
the split's qualified threshold and a description. One list for the CLI, the API, the docs.

The thresholds are season dropbacks in the split: about 14 per team game scaled by the split's
share of dropbacks. Air-yards splits hold throws only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from passing_score.pipeline.foundation.errors import InputError


@dataclass(frozen=True)
class Split:
    """One football split."""

    name: str
    sql: str  # predicate over dropbacks aliased d
    min_dropbacks: int  # default qualified threshold (season dropbacks in the split)
    description: str

    @property
    def columns(self) -> list[str]:
        """The dropbacks columns the predicate reads."""
        return sorted(set(re.findall(r"\bd\.(\w+)", self.sql)))


SPLITS: dict[str, Split] = {s.name: s for s in (
    Split("deep", "d.air_yards >= 20", 25, "throws 20+ air yards downfield"),
    Split("intermediate", "d.air_yards BETWEEN 10 AND 19", 40, "throws 10-19 air yards"),
    Split("short", "d.air_yards BETWEEN 0 AND 9", 120, "throws 0-9 air yards"),
    Split("behind_los", "d.air_yards < 0", 25, "throws behind the line of scrimmage"),
    Split("under_pressure", "coalesce(d.qb_hit, 0) = 1 OR d.out_sack = 1", 40,
          "dropbacks with a QB hit or a sack"),
    Split("clean_pocket", "NOT (coalesce(d.qb_hit, 0) = 1 OR d.out_sack = 1)", 150,
          "dropbacks without a hit or sack"),
    Split("third_fourth_down", "d.down IN (3, 4)", 60, "third and fourth down"),
    Split("red_zone", "d.yardline_100 <= 20", 30, "snaps inside the opponent's 20"),
    Split("trailing", "d.score_differential < 0", 100, "the offense trails"),
    Split("fourth_quarter", "d.qtr >= 4", 50, "fourth quarter and overtime"),
)}


def get_split(name: str, what: str = "split") -> Split:
    """The split of that name; a one-line InputError naming the valid ones."""
    if name not in SPLITS:
        raise InputError(f"{what} {name!r} is not one of {', '.join(SPLITS)}")
    return SPLITS[name]


def split_columns() -> list[str]:
    """Every dropbacks column any split reads."""
    return sorted({c for s in SPLITS.values() for c in s.columns})

"""Summarise a `make soak` run (its pytest JUnit XML) into bench/results/soak.json.

Counts, per verb, the kill -9 iterations that left a state equal to before or after the
command and re-ran to the uninterrupted result, and the schemathesis operations fuzzed with
fresh random examples without a 5xx or a schema mismatch. `make soak` runs it after pytest.

    .venv/bin/python bench/soak_summary.py data/soak-junit.xml
"""

from __future__ import annotations

import os
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import write_result

KILL = re.compile(r"test_soak_kill_during_(\w+)\[\d+\]")
FUZZ = re.compile(r"test_soak_schemathesis\[(.+)\]")


def outcome(case: ET.Element) -> str:
    """passed, failed or skipped, as pytest's JUnit report says."""
    if case.find("failure") is not None or case.find("error") is not None:
        return "failed"
    return "skipped" if case.find("skipped") is not None else "passed"


def main() -> None:
    """Read the XML named on the command line and write the summary."""
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_file():
        raise SystemExit("usage: soak_summary.py JUNIT_XML (written by make soak)")
    root = ET.parse(sys.argv[1]).getroot()
    kills: dict[str, Counter[str]] = {}
    fuzz: Counter[str] = Counter()
    seconds = 0.0
    for case in root.iter("testcase"):
        name, result = case.get("name", ""), outcome(case)
        seconds += float(case.get("time", 0) or 0)
        if m := KILL.fullmatch(name):
            kills.setdefault(m.group(1), Counter())[result] += 1
        elif FUZZ.fullmatch(name):
            fuzz[result] += 1
    iterations = int(os.environ.get("SOAK_ITERATIONS", "25"))
    write_result("soak", {
        "iterations_per_verb": iterations,
        "kills": {verb: dict(c) for verb, c in sorted(kills.items())},
        "kills_survived": sum(c["passed"] for c in kills.values()),
        "kills_total": sum(sum(c.values()) for c in kills.values()),
        "schemathesis": {"operation_modes": dict(fuzz), "max_examples_each": 20 * iterations,
                         "checks": "no 5xx, response schema, status code, content type"},
        "schemathesis_failures": fuzz["failed"], "test_seconds": round(seconds, 1),
        "note": "kill -9 at random times of ingest, features, score and update, each followed "
                "by the same command: the warehouse must equal the state before or after it, "
                "and the re-run the uninterrupted result; schemathesis draws fresh random valid "
                "and invalid requests per GET operation (hypothesis max_examples; fewer when "
                "an operation has fewer distinct inputs).",
    })


if __name__ == "__main__":
    main()

"""The installed shape: one import namespace, modules a newcomer can read, layers that hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import passing_score

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("pipeline", "features", "models", "reports")
MAX_LINES = 420  # "no module over ~400 lines"


@pytest.mark.parametrize("name", STAGES)
def test_only_the_namespace_is_importable_outside_the_checkout(name: str, tmp_path: Path
                                                               ) -> None:
    code = (f"import importlib.util, sys; import passing_score.{name}; "
            f"sys.exit(0 if importlib.util.find_spec({name!r}) is None else 3)")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, check=False)
    assert r.returncode == 0, (r.returncode, r.stderr)


def test_a_notebook_folder_with_a_models_py_does_not_shadow_the_package(tmp_path: Path) -> None:
    (tmp_path / "models.py").write_text("raise SystemExit('shadowed')\n")
    (tmp_path / "pipeline.py").write_text("raise SystemExit('shadowed')\n")
    r = subprocess.run([sys.executable, "-c", "import passing_score.models.aggregator, "
                        "passing_score.pipeline.foundation.warehouse"], cwd=tmp_path,
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr


def test_stage_folders_are_the_namespace_packages() -> None:
    for name in STAGES:
        link = ROOT / "passing_score" / name
        assert link.is_symlink() and link.resolve() == (ROOT / name).resolve()
    assert Path(passing_score.__file__).parent == ROOT / "passing_score"


def test_no_product_module_is_over_the_size_limit() -> None:
    big = {str(p.relative_to(ROOT)): n for stage in STAGES
           for p in (ROOT / stage).rglob("*.py")
           if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert big == {}


def test_code_imports_the_namespace_not_bare_stage_names() -> None:
    bad = []
    for stage in (*STAGES, "tests", "bench"):
        for p in (ROOT / stage).rglob("*.py"):
            for i, line in enumerate(p.read_text().splitlines(), 1):
                s = line.strip()
                if s.startswith(tuple(f"{kw} {n}" for kw in ("from", "import")
                                      for n in (f"{x}." for x in STAGES))) or \
                        s in tuple(f"import {x}" for x in STAGES):
                    bad.append(f"{p.relative_to(ROOT)}:{i}: {s}")
    assert bad == []

"""Set-up time of a fresh clone: `git clone` of this repository and `make install` (a new .venv
and every dependency from the package index, pip's cache as a user's machine would have it).

`make run` on a fresh clone is this set-up plus the full rebuild that bench_rebuild.py times
stage by stage; results_table.py adds the two. Writes bench/results/install.json; skipped
(exit 0) without git or make.

    .venv/bin/python bench/bench_install.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, write_result


def main() -> None:
    """Clone HEAD into a tempdir, time `make install` there, write the result."""
    if shutil.which("git") is None or shutil.which("make") is None:
        print("skip: needs git and make")
        return
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="install_") as d:
        clone = Path(d) / "clone"
        t0 = time.perf_counter()
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        t_clone = time.perf_counter() - t0
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        t0 = time.perf_counter()
        r = subprocess.run(["make", "install"], cwd=clone, env=env, capture_output=True,
                           text=True, check=False)
        t_install = time.perf_counter() - t0
        if r.returncode != 0:
            print(r.stdout[-2000:], r.stderr[-2000:])
            raise SystemExit(f"make install failed ({r.returncode})")
    write_result("install", {
        "clone_seconds": round(t_clone, 2), "make_install_seconds": round(t_install, 2),
        "setup_seconds": round(t_clone + t_install, 2),
        "load_average_before": [round(x, 2) for x in load],
        "note": "fresh clone of HEAD, `make install` (python -m venv, pip install -e with the "
                "dev and nfl-data-py extras) with pip's download cache as left by earlier "
                "installs; `make run` = this + the full rebuild (bench_rebuild.py)",
    })
    print(f"clone {t_clone:.1f} s, make install {t_install:.1f} s")


if __name__ == "__main__":
    main()

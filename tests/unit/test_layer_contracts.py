"""The layer contracts of pyproject.toml's [tool.importlinter] hold: the run flows down the
layers (commands, run, rollout, device steps, platforms, model), no lower layer reaches back
up, and no import circle comes back unnoticed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(where: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--no-cache"], cwd=where, capture_output=True, text=True, timeout=240,
                          env={"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin"})


def test_the_layers_and_the_no_circles_contracts_are_kept():
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    kept = " ".join(done.stdout.split())  # long contract names wrap
    for name in ("The run flows down: commands, the run, the rollout, its device steps, the platforms, the model",
                 "Platforms import neither the rollout nor the reports",
                 "The rollout writes no journal and prints no report: its processors do, and the run reports",
                 "No import circles between nr_apply's modules and packages"):
        assert f"{name} KEPT" in kept, done.stdout


def test_a_platform_importing_the_rollout_breaks_the_contracts(tmp_path):
    """The contracts can fail: the same code with one platform module importing the rollout
    is reported broken, naming the import."""
    for package in ("nr_apply", "nr_apply_lab"):
        if (ROOT / package).is_dir():
            shutil.copytree(ROOT / package, tmp_path / package, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    base = tmp_path / "nr_apply" / "platforms" / "base.py"
    base.write_text(base.read_text() + "\nimport nr_apply.rollout  # noqa\n")
    done = lint(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Platforms import neither the rollout nor the reports BROKEN" in done.stdout
    assert "nr_apply.platforms.base -> nr_apply.rollout" in done.stdout

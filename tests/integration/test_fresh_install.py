"""A fresh install is quiet: nr-apply installed from the checkout into a new virtual
environment, its commands write nothing to standard error but nr-apply's own words (no
library's DeprecationWarning, no traceback). The environment sees the test run's libraries (a
warm cache, as a runner has), so the versions a fresh resolve picks today are the ones tried.

It is a plain `pip install .`: the product without the `lab` extra. The lab the dry-run talks
to is the test run's own, and `nr-apply lab` there says how to get the lab."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from fabric_helpers import REPO, make_repo

NOT_IN_A_CHECKOUT = shutil.ignore_patterns(".git", ".venv", ".nr-apply", "__pycache__", "*.egg-info", "build",
                                           "tests", "benchmarks", ".pytest_cache")
# What only a library (never nr-apply) writes to standard error.
LIBRARY_NOISE = re.compile(r"\w*Warning\b|warnings\.warn|site-packages|dist-packages|Traceback")


@pytest.fixture(scope="module")
def fresh_install(tmp_path_factory) -> Path:
    """bin/ of a new venv with nr-apply built from a copy of the checkout (not editable), and
    neither nr-apply-lab nor the test run's own nr-apply visible to it."""
    root = tmp_path_factory.mktemp("fresh-install")
    checkout = root / "checkout"
    shutil.copytree(REPO, checkout, symlinks=True, ignore=NOT_IN_A_CHECKOUT)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    purelib = subprocess.run([venv / "bin/python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "warm-cache.pth").write_text(f"{warm_cache(root / 'warm-cache')}\n")
    subprocess.run([venv / "bin/python", "-m", "pip", "install", "--quiet", str(checkout)], check=True,
                   capture_output=True, timeout=600)
    return venv / "bin"


def warm_cache(folder: Path) -> Path:
    """The test run's libraries, links to its site-packages' entries minus nr-apply's own
    distributions (packages, metadata and their entry points, editable finders)."""
    folder.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if "nr_apply" not in entry.name.lower().replace("-", "_"):
            (folder / entry.name).symlink_to(entry)
    return folder


def run(bin_dir: Path, *args: str, cwd: Path, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin", "HOME": str(cwd), "NO_COLOR": "1", "LANG": "C.UTF-8",
           **(extra_env or {})}
    return subprocess.run([str(bin_dir / "nr-apply"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def library_noise(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if LIBRARY_NOISE.search(line)]


def test_help_and_render_write_nothing_to_stderr(fresh_install, tmp_path):
    shutil.copytree(REPO / "inventory", tmp_path / "inventory", symlinks=True)
    shutil.copytree(REPO / "plans", tmp_path / "plans")
    helped = run(fresh_install, "--help", cwd=tmp_path)
    assert helped.returncode == 0 and "usage: nr-apply" in helped.stdout
    assert helped.stderr == ""
    rendered = run(fresh_install, "render", "plans/lossless-rollout.yaml", "--node", "leaf1", cwd=tmp_path)
    assert rendered.returncode == 0 and rendered.stdout.strip()
    assert rendered.stderr == ""


def test_lab_dry_run_writes_only_nr_apply_s_own_output_to_stderr(fresh_install, fresh_lab, tmp_path):
    repo = make_repo(fresh_lab, tmp_path)
    proc = run(fresh_install, str(repo.plan), "--dry-run", cwd=tmp_path,
               extra_env={"NR_APPLY_USERNAME": fresh_lab.username, "NR_APPLY_PASSWORD": fresh_lab.password})
    assert proc.returncode == 2, proc.stdout + proc.stderr  # changes pending against the factory lab
    assert "leaf1" in proc.stdout
    assert library_noise(proc.stderr) == [], proc.stderr


def test_the_product_alone_validates_and_says_how_to_get_the_lab(fresh_install, tmp_path):
    shutil.copytree(REPO / "inventory", tmp_path / "inventory", symlinks=True)
    shutil.copytree(REPO / "plans", tmp_path / "plans")
    python = subprocess.run([fresh_install / "python", "-c", "import importlib.util as u; "
                             "print(u.find_spec('nr_apply_lab'), u.find_spec('asyncssh') is not None)"],
                            capture_output=True, text=True, check=True)
    assert python.stdout.split() == ["None", "True"]  # no lab; the product's own SSH client is there
    validated = run(fresh_install, "validate", "plans/lossless-rollout.yaml", cwd=tmp_path)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert validated.stderr == ""
    helped = run(fresh_install, "--help", cwd=tmp_path)
    assert re.search(r"^\s+lab\s+the bundled lab fabric \(not installed\)$", helped.stdout, re.M), helped.stdout
    for argv in (["lab", "up", "--detach"], ["lab"], ["lab", "--state-dir", "x", "status"]):
        lab = run(fresh_install, *argv, cwd=tmp_path)
        assert lab.returncode == 3, argv
        assert lab.stdout == ""
        assert lab.stderr.splitlines() == ["error: `nr-apply lab` needs the bundled lab, which is not installed: "
                                           "install the nr-apply-lab distribution (the `lab` extra), from a "
                                           "checkout `pip install ./lab`"]
    assert not (tmp_path / ".nr-apply").exists()


def test_the_product_alone_rehearses_against_a_running_lab_by_its_files(fresh_install, fresh_lab, tmp_path):
    """`--lab` needs no lab code: the product knows a running lab by lab.pid and lab.json."""
    repo = make_repo(fresh_lab, tmp_path)
    credentials = {"NR_APPLY_USERNAME": fresh_lab.username, "NR_APPLY_PASSWORD": fresh_lab.password}
    proc = run(fresh_install, str(repo.plan), "--dry-run", "--lab", str(fresh_lab.state_dir), cwd=tmp_path,
               extra_env=credentials)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "leaf1" in proc.stdout and library_noise(proc.stderr) == [], proc.stderr
    refused = run(fresh_install, str(repo.plan), "--dry-run", "--lab", str(tmp_path / "no-lab"), cwd=tmp_path,
                  extra_env=credentials)
    assert refused.returncode == 3
    assert f"no lab is running at {tmp_path / 'no-lab'}" in refused.stderr

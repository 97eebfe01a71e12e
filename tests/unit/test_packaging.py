"""The package list in pyproject.toml is explicit (the tasks/ and templates/ folders install
under nr_apply); every package folder must be in it, or an install silently lacks it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import nr_apply

REPO = Path(__file__).resolve().parents[2]


def test_every_package_folder_is_listed():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "nr_apply").rglob("__init__.py")
             if "__pycache__" not in p.parts}
    assert found | {"nr_apply.tasks", "nr_apply.templates", "nr_apply.lab.bundled_inventory"} == listed


def test_installed_package_carries_tasks_and_templates():
    from importlib import resources

    import nr_apply.tasks.read  # noqa: F401

    assert resources.files("nr_apply.templates").joinpath("eos/lossless.j2").is_file()
    assert resources.files("nr_apply.schemas").joinpath("report.schema.json").is_file()
    from nr_apply.lab.generate import BUNDLED_INVENTORY

    assert (BUNDLED_INVENTORY / "defaults.yaml").is_file() and (BUNDLED_INVENTORY / "groups.yaml").is_file()
    assert Path(nr_apply.__file__).name == "__init__.py"

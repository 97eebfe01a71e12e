"""What an install carries: tasks, templates, schemas and, in the lab's own distribution
(lab/, nr-apply-lab), the bundled inventory."""

from __future__ import annotations

import tomllib
from pathlib import Path

import nr_apply

REPO = Path(__file__).resolve().parents[2]


def test_packages_are_discovered_not_listed():
    """Namespace discovery from pyproject takes every folder under nr_apply/ (templates
    included), and under lab/nr_apply_lab/ (the bundled inventory included): no hand-kept list
    to fall out of date. The product's wheel holds no lab."""
    product = tomllib.loads((REPO / "pyproject.toml").read_text())
    lab = tomllib.loads((REPO / "lab" / "pyproject.toml").read_text())
    assert product["tool"]["setuptools"]["packages"]["find"] == {"include": ["nr_apply", "nr_apply.*"],
                                                                 "namespaces": True}
    assert lab["tool"]["setuptools"]["packages"]["find"] == {"include": ["nr_apply_lab*"], "namespaces": True}
    assert not (REPO / "nr_apply_lab").exists()
    assert (REPO / "lab" / "nr_apply_lab" / "bundled_inventory").resolve() == (REPO / "inventory").resolve()


def test_the_lab_is_the_lab_extra_and_registers_its_command():
    """One release of the product and its lab, made together: the extra pins the lab's version
    and the lab pins the product's; `nr-apply lab` comes from the lab's entry point."""
    product = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lab = tomllib.loads((REPO / "lab" / "pyproject.toml").read_text())["project"]
    assert lab["name"] == "nr-apply-lab" and lab["version"] == product["version"]
    assert product["optional-dependencies"]["lab"] == [f"nr-apply-lab=={lab['version']}"]
    assert f"nr-apply=={product['version']}" in lab["dependencies"]
    assert lab["entry-points"]["nr_apply.commands"] == {"lab": "nr_apply_lab.cli:add_parser"}


def test_installed_package_carries_tasks_and_templates():
    from importlib import resources

    import nr_apply.tasks.read  # noqa: F401

    assert resources.files("nr_apply.templates").joinpath("eos/lossless.j2").is_file()
    assert resources.files("nr_apply.schemas").joinpath("report.schema.json").is_file()
    from nr_apply_lab.generate import BUNDLED_INVENTORY

    assert (BUNDLED_INVENTORY / "defaults.yaml").is_file() and (BUNDLED_INVENTORY / "groups.yaml").is_file()
    assert Path(nr_apply.__file__).name == "__init__.py"


def test_installed_package_carries_the_html_page_and_the_vendored_libraries_it_recorded():
    """The HTML report's assets ship as package data, and each vendored library is byte for byte
    the file whose sha256 vendor.json records (scripts/vendor-html-assets.sh checks that against
    the npm registry)."""
    import hashlib
    import json
    from importlib import resources

    assets = resources.files("nr_apply.report.assets")
    for name in ("page.html.j2", "page.js", "page.css"):
        assert assets.joinpath(name).is_file(), name
    entries = json.loads(assets.joinpath("vendor/vendor.json").read_text())
    assert {e["name"] for e in entries} == {"echarts", "cytoscape"}
    for entry in entries:
        code = assets.joinpath(f"vendor/{entry['file']}").read_bytes()
        assert hashlib.sha256(code).hexdigest() == entry["sha256"], entry["name"]
        assert entry["version"] in entry["from"] and entry["license"] in ("Apache-2.0", "MIT")
        assert assets.joinpath(f"vendor/{entry['license_file']}").read_text().strip()

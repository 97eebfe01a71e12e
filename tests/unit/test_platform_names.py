"""Platform facts live in the platform descriptor (nr_apply/platforms/drivers.py) or in the
platform's own package, and lab facts in the lab's registry (nr_apply_lab/platforms.py) or the
platform's emulator modules: no module elsewhere decides anything by comparing a platform name
or keys anything by a name that spells one (a vendor's gNMI shape, say), so a new platform is
added by its package, its emulator and their registrations alone."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nr_apply
import nr_apply_lab
from nr_apply.platforms.drivers import PLATFORMS

ROOT = Path(nr_apply.__file__).parent
LAB = Path(nr_apply_lab.__file__).parent
PLATFORM_PACKAGES = {ROOT / "platforms" / name for name in PLATFORMS}


def _names_in(node: ast.AST) -> set[str]:
    """The platform names a comparison operand spells out (a string, or a tuple/list/set of them)."""
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return {i.value for i in items if isinstance(i, ast.Constant) and i.value in PLATFORMS}


def platform_comparisons(source: str) -> list[tuple[int, str]]:
    """(line, platform name) of every comparison in `source` against a platform name."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            for operand in [node.left, *node.comparators]:
                found += [(node.lineno, name) for name in sorted(_names_in(operand))]
        elif isinstance(node, ast.match_case) and isinstance(node.pattern, ast.MatchValue):
            found += [(node.pattern.lineno, name) for name in sorted(_names_in(node.pattern.value))]
    return found


def test_the_scan_finds_every_form_of_comparison():
    source = ('if platform == "eos": pass\n'
              'if node.platform in ("sonic", "nvue"): pass\n'
              'x = "linux" != p\n'
              'match p:\n    case "eos": pass\n')
    assert platform_comparisons(source) == [(1, "eos"), (2, "nvue"), (2, "sonic"), (3, "linux"), (5, "eos")]


def test_no_module_outside_a_platform_package_compares_a_platform_name():
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        if any(package in path.parents for package in PLATFORM_PACKAGES):
            continue
        for line, name in platform_comparisons(path.read_text()):
            offenders.append(f"{path.relative_to(ROOT.parent)}:{line} compares the platform name {name!r}")
    assert offenders == [], "\n".join(offenders)


def test_no_lab_module_outside_an_emulator_compares_a_platform_name():
    offenders = []
    for path in sorted(LAB.rglob("*.py")):
        if any(path.name.startswith(name) for name in PLATFORMS):
            continue  # the platform's own emulator modules (nxos.py, nxos_gnmi.py, ...)
        for line, name in platform_comparisons(path.read_text()):
            offenders.append(f"{path.relative_to(LAB.parent)}:{line} compares the platform name {name!r}")
    assert offenders == [], "\n".join(offenders)


def _docstrings(tree: ast.AST) -> set[int]:
    return {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}


def platform_keys(source: str) -> list[tuple[int, str]]:
    """(line, string) of every string in code (not prose: nothing with a space, no docstring)
    that spells a platform name as one of its tokens: `"nxos"`, `"nxos-device-queuing"`."""
    tree = ast.parse(source)
    prose = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose
                and not re.search(r"\s", node.value)
                and set(re.split(r"[^a-z0-9]+", node.value.lower())) & set(PLATFORMS)):
            found.append((node.lineno, node.value))
    return found


def test_the_key_scan_finds_platform_names_in_keys_but_not_in_prose():
    source = ('"""About eos."""\n'
              'if shape == "nxos-device-queuing": pass\n'
              'table = {"sonic": 1}\n'
              'help = "the Cumulus Linux release"\n'
              'x = "eosx"\n')
    assert platform_keys(source) == [(2, "nxos-device-queuing"), (3, "sonic")]


def test_no_product_module_outside_a_platform_package_keys_anything_by_a_platform_name():
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        if any(package in path.parents for package in PLATFORM_PACKAGES) or path == ROOT / "platforms" / "drivers.py":
            continue
        for line, value in platform_keys(path.read_text()):
            offenders.append(f"{path.relative_to(ROOT.parent)}:{line} spells a platform name: {value!r}")
    assert offenders == [], "\n".join(offenders)

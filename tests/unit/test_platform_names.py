"""Platform facts live in the platform descriptor (nr_apply/platforms/drivers.py) or in the
platform's own package: no module elsewhere decides anything by comparing a platform name, so a
new platform is added by its package and its descriptor entry alone."""

from __future__ import annotations

import ast
from pathlib import Path

import nr_apply
from nr_apply.platforms.drivers import PLATFORMS

ROOT = Path(nr_apply.__file__).parent
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

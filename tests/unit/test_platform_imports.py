"""What the platform packages import: never the rollout or the reports above them, and at
function level only what defers a heavy dependency, saying so."""

from __future__ import annotations

import ast
from pathlib import Path

import nr_apply

PLATFORMS = Path(nr_apply.__file__).parent / "platforms"


def _imports(tree: ast.AST) -> list[tuple[ast.AST, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node, node.module))
    return found


def test_platforms_import_neither_rollout_nor_report():
    offenders = [f"{path.relative_to(PLATFORMS.parent)}:{node.lineno} imports {name}"
                 for path in sorted(PLATFORMS.rglob("*.py"))
                 for node, name in _imports(ast.parse(path.read_text()))
                 if name.split(".")[:2] in (["nr_apply", "rollout"], ["nr_apply", "report"])]
    assert offenders == [], "\n".join(offenders)


def test_function_level_imports_in_platforms_say_what_they_defer():
    offenders = []
    for path in sorted(PLATFORMS.rglob("*.py")):
        lines = path.read_text().splitlines()
        for function in ast.walk(ast.parse(path.read_text())):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node, name in _imports(function):
                # the import's own line, or the comment heading the imports it belongs to
                above = lines[:node.lineno]
                while len(above) > 1 and above[-2].strip().startswith(("from ", "import ")):
                    above.pop(-2)
                around = " ".join(above[-3:]).lower()
                if "deferred" not in around:
                    offenders.append(f"{path.relative_to(PLATFORMS.parent)}:{node.lineno} imports {name} "
                                     "in a function without saying what it defers")
    assert offenders == [], "\n".join(offenders)

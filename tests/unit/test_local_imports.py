"""An import inside a function is there only to defer a heavy or optional dependency, and says
so: a comment with "deferred" on the import's line or heading the imports it belongs to.
Everything else is imported at the module's top, where the import contracts see it."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import nr_apply

PACKAGE = Path(nr_apply.__file__).parent


def unexplained_local_imports(package: Path) -> list[str]:
    offenders = []
    for path in sorted(package.rglob("*.py")):
        text = path.read_text()
        lines = text.splitlines()
        seen: set[int] = set()
        for function in ast.walk(ast.parse(text)):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if not isinstance(node, (ast.Import, ast.ImportFrom)) or node.lineno in seen:
                    continue
                seen.add(node.lineno)
                # the import's own line, or the comment right above the run of imports it is in
                above = lines[:node.lineno]
                while len(above) > 1 and above[-2].strip().startswith(("from ", "import ")):
                    above.pop(-2)
                said = above.pop().partition("#")[2]
                while above and above[-1].strip().startswith("#"):
                    said += " " + above.pop()
                if "deferred" not in said.lower():
                    offenders.append(f"{path.relative_to(package.parent)}:{node.lineno}: "
                                     f"{lines[node.lineno - 1].strip()}")
    return offenders


def test_every_function_level_import_says_what_it_defers():
    offenders = unexplained_local_imports(PACKAGE)
    assert offenders == [], "function-level imports without a 'deferred: ...' comment:\n" + "\n".join(offenders)


def test_an_unexplained_function_level_import_is_reported(tmp_path):
    """The scan can fail: the same package with one plain import moved into a function is
    reported, by file, line and import."""
    copy = tmp_path / "nr_apply"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    saved_plan = copy / "saved_plan.py"
    saved_plan.write_text(saved_plan.read_text() + "\n\ndef _later():\n    import json\n\n    return json\n")
    line = len(saved_plan.read_text().splitlines()) - 2
    assert unexplained_local_imports(copy) == [f"nr_apply/saved_plan.py:{line}: import json"]
    # and the same import with its reason is accepted
    saved_plan.write_text(saved_plan.read_text().replace("    import json\n",
                                                         "    import json  # deferred: for the test\n"))
    assert unexplained_local_imports(copy) == []

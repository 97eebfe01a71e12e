"""The import contracts of pyproject's [tool.importlinter] hold (`lint-imports`, as
scripts/test.sh runs it), and the product-never-imports-lab contract catches an import of the
lab from the product."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(cwd: Path, *args: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_every_import_contract_is_kept():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "nr_apply never imports nr_apply_lab KEPT" in result.stdout
    assert " broken" in result.stdout and "0 broken" in result.stdout


def test_an_import_of_the_lab_from_the_product_breaks_the_contract(tmp_path):
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["id"] == "product-never-imports-lab"]
    for package, code in (("nr_apply", ""), ("nr_apply/rehearsal", "def require_lab():\n"
                                                                   "    from nr_apply_lab.lifecycle import INFO_FILE\n"),
                          ("nr_apply_lab", ""), ("nr_apply_lab/lifecycle", "INFO_FILE = 'lab.json'\n")):
        path = tmp_path / "src" / (f"{package}/__init__.py" if "/" not in package else f"{package}.py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)
    lines = [f"root_packages = {config['root_packages']!r}".replace("'", '"'), "[[contracts]]"]
    lines += [f"{key} = {value!r}".replace("'", '"') for key, value in contract.items()]
    (tmp_path / "pyproject.toml").write_text("[tool.importlinter]\n" + "\n".join(
        line.replace("[[contracts]]", "[[tool.importlinter.contracts]]") for line in lines) + "\n")
    result = lint_imports(tmp_path, pythonpath=tmp_path / "src")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "nr_apply never imports nr_apply_lab BROKEN" in result.stdout
    assert "nr_apply.rehearsal -> nr_apply_lab.lifecycle" in result.stdout

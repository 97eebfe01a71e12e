"""docs/architecture.md and README's "Repository layout" name only what exists: every path
(backticked, or a file or folder in the picture), every `nr_apply...` module and every name."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from nr_apply import rehearsal
from nr_apply.platforms.drivers import PLATFORMS

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
SOURCES = [*sorted((ROOT / "nr_apply").rglob("*.py")), *sorted((ROOT / "lab" / "nr_apply_lab").rglob("*.py")),
           ROOT / "pyproject.toml", ROOT / "lab" / "pyproject.toml"]


def _exists(path: str, strict: bool) -> bool:
    """`path` from the repository's root (strict), or also from the root's folders and
    `nr_apply/`'s packages, where a picture or a table row names a path inside its folder."""
    path = path.rstrip("/")
    for name in PLATFORMS if "<name>" in path else [None]:
        concrete = path.replace("<name>", name) if name else path
        found = (ROOT / concrete).exists()
        if not strict:
            bases = [p for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")]
            bases += [p for p in (ROOT / "nr_apply").rglob("*") if p.is_dir()]
            found = found or any((base / concrete).exists() for base in bases)
        if not found:
            return False
    return True


def _resolves(dotted: str) -> bool:
    module, _, attr = dotted.strip('"').partition(":")
    if "<" in module:
        return all(_resolves(dotted.strip('"').replace("<name>", name).split(":")[0]) for name in PLATFORMS)
    try:
        importlib.import_module(module)
    except ImportError:
        parent, _, name = module.rpartition(".")
        return hasattr(importlib.import_module(parent), name)
    return True


def problems(text: str, strict: bool) -> list[str]:
    found = []
    sources = " ".join(path.read_text() for path in SOURCES)
    picture = "\n".join(re.findall(r"```\n(.*?)```", text, re.S))
    prose = re.sub(r"```\n.*?```", "", text, flags=re.S)
    for token in re.findall(r"`([^`\n]+)`", prose):
        if token.startswith(("nr-apply", "pip ", "[")) or " " in token:
            continue
        if "/" in token and not token.startswith('"'):
            if not _exists(token, strict):
                found.append(f"path `{token}` does not exist")
        elif re.fullmatch(r'"?nr_apply(_lab)?(\.[\w<>]+)+(:[\w<>]+)?"?', token):
            if not _resolves(token):
                found.append(f"module `{token}` does not import")
        elif token in ("lab.pid", "lab.json"):
            if token not in (rehearsal.PID_FILE, rehearsal.INFO_FILE):
                found.append(f"`{token}` is not a file a running lab writes")
        elif re.fullmatch(r"[A-Za-z_]\w*(\.py)?(\(\))?", token) or re.fullmatch(r"host\.\w+\(\)", token):
            name = token.removesuffix("()").removeprefix("host.")
            if not re.search(rf"\b{re.escape(name)}\b", sources) and not _exists(name, strict=False):
                found.append(f"name `{token}` is nowhere in the code")
    for word in re.findall(r"[\w./<>]+(?:\.py|/)(?=[\s,:;)]|$)", picture, re.M):
        if not _exists(word, strict=False):
            found.append(f"`{word}` in the picture does not exist")
    for word in re.findall(r"\b[A-Z][a-z]+(?:[A-Z][a-z]+)+\b", picture):  # class names: RunContext, ...
        if not re.search(rf"\bclass {word}\b", sources):
            found.append(f"class `{word}` in the picture is nowhere in the code")
    return found


def _layout_section() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("## Repository layout", 1)[1].split("\n## ", 1)[0]


def test_the_architecture_doc_names_only_what_exists():
    assert problems(DOC.read_text(), strict=True) == []


def test_readme_layout_names_only_what_exists_and_links_the_architecture():
    layout = _layout_section()
    assert "(docs/architecture.md)" in layout
    assert problems(layout, strict=False) == []


def test_readme_layout_covers_every_package_of_nr_apply():
    layout = _layout_section()
    packages = sorted(p.name for p in (ROOT / "nr_apply").iterdir()
                      if (p / "__init__.py").exists() and p.name not in ("templates",))
    missing = [name for name in packages if f"`{name}/`" not in layout and f"`nr_apply/{name}/`" not in layout
               and f"\n{name}/" not in layout and f"{name}/ " not in layout]
    assert missing == []


def test_a_wrong_path_or_name_is_reported():
    text = "The step table is `nr_apply/tasks/stepz.py`; its class `RolloutProcesor`; `nr_apply.runner`.\n" \
           "```\n gone/   a package that is not there, its RunContexts\n```\n"
    assert problems(text, strict=True) == [
        "path `nr_apply/tasks/stepz.py` does not exist",
        "name `RolloutProcesor` is nowhere in the code",
        "module `nr_apply.runner` does not import",
        "`gone/` in the picture does not exist",
        "class `RunContexts` in the picture is nowhere in the code",
    ]

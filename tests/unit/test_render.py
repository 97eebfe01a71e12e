"""Golden files: the native form each platform's intent renders to.

Set NR_APPLY_UPDATE_GOLDEN=1 to rewrite them after an intended change, then review the diff."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nr_apply.cli import main

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests/golden"


@pytest.mark.parametrize("node", ["spine1", "leaf1", "leaf3", "leaf4", "leaf5", "host1"])
def test_render_matches_golden(node, capsys):
    assert main(["render", str(REPO / "plans/lossless-rollout.yaml"), "--node", node]) == 0
    out = capsys.readouterr().out
    golden = GOLDEN / f"render-{node}.txt"
    if os.environ.get("NR_APPLY_UPDATE_GOLDEN"):
        golden.write_text(out)
    assert out == golden.read_text()


def test_eos_render_is_valid_eos_syntax(capsys):
    """No syntax the vendors' pitfalls list warns about (vendors.md section 7)."""
    main(["render", str(REPO / "plans/lossless-rollout.yaml"), "--node", "leaf1"])
    out = capsys.readouterr().out
    assert "priority-flow-control mode on" not in out
    assert "units kbytes" not in out
    assert not any(line.startswith("priority-flow-control priority") for line in out.splitlines())
    assert "   priority-flow-control priority 3 no-drop" in out

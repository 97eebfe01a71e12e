"""The Markdown report as a CommonMark renderer (markdown-it-py, the parser Rich uses) shows it:
headings are headings, rule links are absolute, counts agree, and each command names itself."""

from __future__ import annotations

import json
import re
from pathlib import Path

from markdown_it import MarkdownIt

from nr_apply.cli import main

from test_rollout import fake, run  # noqa: F401  (fixture reuse; tests/unit is on sys.path)

REPO = Path(__file__).resolve().parents[2]


def headings(markdown: str) -> list[str]:
    tokens = MarkdownIt("commonmark").parse(markdown)
    return [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]


def literal_hashes(markdown: str) -> list[str]:
    """Text a renderer shows as a paragraph although it was written as a heading."""
    tokens = MarkdownIt("commonmark").parse(markdown)
    return [t.content for t in tokens if t.type == "inline" and re.search(r"(^|\n)#{2,4} ", t.content)]


def links(markdown: str) -> list[str]:
    tokens = MarkdownIt("commonmark").parse(markdown)
    return [child.attrs["href"] for t in tokens if t.type == "inline" for child in t.children or []
            if child.type == "link_open"]


def test_a_failed_apply_renders_every_heading_after_folded_detail(fake, tmp_path):  # noqa: F811
    fake.fail["leaf3"] = "storm"
    out = tmp_path / "apply.md"
    assert run(fake, "--yes", "-q", "--report", f"markdown:{out}") == 1
    md = out.read_text()
    assert "</details>\n### " not in md.replace("</details>\n\n", "")
    shown = headings(md)
    assert shown[0].startswith("nr-apply apply: `lossless-rollout` — **failed**")
    assert {"Failures", "Changes", "Health gates"} <= set(shown), shown
    assert literal_hashes(md) == []


def test_a_dry_run_renders_every_heading(fake, tmp_path):  # noqa: F811
    out = tmp_path / "pr.md"
    assert run(fake, "--dry-run", "--report", f"markdown:{out}") == 2
    md = out.read_text()
    assert literal_hashes(md) == []
    assert "Changes" in headings(md) and md.count("\n#### ") == len([h for h in headings(md) if " each" in h])


def test_rule_links_are_absolute_with_docs_url_and_never_relative(tmp_path):
    plan = str(REPO / "plans/lossless-rollout.yaml")
    linked, plain = tmp_path / "linked.md", tmp_path / "plain.md"
    assert main(["validate", plan, "--docs-url", "https://git.example.net/fabric/blob/main/docs/",
                 "--format", "markdown", "--output", str(linked)]) == 0
    hrefs = links(linked.read_text())
    assert "https://git.example.net/fabric/blob/main/docs/rules.md#p4" in hrefs
    assert "https://git.example.net/fabric/blob/main/docs/rules.md#ph-1" in hrefs
    assert main(["validate", plan, "--format", "markdown", "--output", str(plain)]) == 0
    # Without a base a relative link would resolve against the pull request's page: rules are
    # named, not linked, and the comment says where they are explained.
    assert links(plain.read_text()) == []
    assert "`P4`" in plain.read_text() and "docs/rules.md" in plain.read_text()


def test_group_heading_and_node_detail_count_the_same_changes(fake, tmp_path):  # noqa: F811
    out = tmp_path / "pr.md"
    assert run(fake, "--dry-run", "--report", f"markdown:{out}") == 2
    md = out.read_text()
    group = re.search(r"#### 1 node \(eos\), (\d+) changes? each\n\n`leaf1`", md) or \
        next(m for m in re.finditer(r"#### \d+ nodes? \(eos\), (\d+) changes? each\n\n[^\n]*`leaf1`", md))
    detail = re.search(r"<summary>leaf1 \(eos\): changed, (\d+) changes", md)
    assert group and detail and group.group(1) == detail.group(1), (group and group.group(0), detail and detail.group(0))


def test_each_command_names_itself(fake, tmp_path, capsys):  # noqa: F811
    assert main(["check", str(fake.plan), "--no-host-key-check", "--workers", "4", "--format", "markdown"]) == 2
    assert capsys.readouterr().out.startswith("## nr-apply check: `lossless-rollout`")
    assert main(["check", str(fake.plan), "--no-host-key-check", "--workers", "4"]) == 2
    assert "check of lossless-rollout" in capsys.readouterr().out
    assert run(fake, "--yes", "--limit", "leaf1,leaf2") == 0
    out = capsys.readouterr().out
    assert "dry-run of" not in out and "apply of lossless-rollout" in out


def test_rollback_names_itself(fake, tmp_path, capsys):  # noqa: F811
    assert run(fake, "--yes", "--limit", "leaf1,leaf2", "--format", "json") == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    md = tmp_path / "rollback.md"
    junit = tmp_path / "rollback.xml"
    assert main(["rollback", run_id, "--no-host-key-check", "--state-dir", str(fake.state_dir), "--yes",
                 "--report", f"markdown:{md}", "--report", f"junit:{junit}"]) == 0
    out = capsys.readouterr().out
    assert "rollback of lossless-rollout" in out and "apply of" not in out
    assert '<testsuite name="nr-apply rollback lossless-rollout"' in junit.read_text()
    assert md.read_text().startswith("## nr-apply rollback: `lossless-rollout`")


def test_a_flag_before_the_plan_is_accepted(fake, capsys):  # noqa: F811
    code = main(["--dry-run", str(fake.plan), "--no-host-key-check", "--state-dir", str(fake.state_dir),
                 "--format", "json"])
    assert code == 2 and json.loads(capsys.readouterr().out)["exit_code"] == 2

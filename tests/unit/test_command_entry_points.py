"""`nr-apply lab` comes from the lab's distribution through the entry-point group
`nr_apply.commands`; without the lab, the command still shows in `--help` and says how to get it."""

from __future__ import annotations

from importlib.metadata import entry_points

from nr_apply import cli

HINT = ("error: `nr-apply lab` needs the bundled lab, which is not installed: install the nr-apply-lab "
        "distribution (the `lab` extra), from a checkout `pip install ./lab`\n")


def test_the_installed_lab_registers_lab(capsys):
    (lab,) = [ep for ep in entry_points(group=cli.COMMAND_GROUP) if ep.name == "lab"]
    assert lab.value == "nr_apply_lab.cli:add_parser" and lab.dist.name == "nr-apply-lab"
    assert cli.main(["lab", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: nr-apply lab [-h] ACTION ...")
    assert all(f"\n    {action} " in out for action in ("up", "down", "status", "reset", "fault", "generate"))


def test_without_the_lab_help_lists_it_and_using_it_says_how_to_get_it(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_registered_commands", dict)
    assert "lab       the bundled lab fabric (not installed)" in cli.build_parser().format_help()
    for argv in (["lab"], ["lab", "up", "--detach"], ["lab", "--state-dir", "x", "status"], ["lab", "--help"]):
        assert cli.main(argv) == 3, argv
        assert capsys.readouterr() == ("", HINT)


def test_a_registered_command_whose_code_cannot_be_imported_counts_as_not_installed(monkeypatch, capsys):
    """A venv that sees the lab's distribution metadata but not its code (another venv's
    site-packages on the path, a half-removed install): every command still works, and `lab`
    says how to get it, instead of each command ending in a ModuleNotFoundError."""
    from importlib.metadata import EntryPoint

    stale = EntryPoint(name="lab", value="nr_apply_lab_gone.cli:add_parser", group=cli.COMMAND_GROUP)
    monkeypatch.setattr(cli, "entry_points", lambda group: [stale] if group == cli.COMMAND_GROUP else [])
    assert "lab       the bundled lab fabric (not installed)" in cli.build_parser().format_help()
    assert cli.main(["lab", "up"]) == 3
    assert capsys.readouterr() == ("", HINT)
    assert cli.main(["schema", "--help"]) == 0

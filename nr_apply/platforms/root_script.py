"""A write step as ONE exec on an SSH platform: a script sent on stdin to a shell on the device,
answered when the channel closes (no terminal, no prompt, no typed heredocs: one round trip per
step however many commands). The script's last line is its result, `### nr-apply result <word>`:
`ok`, or what went wrong; a script that never got to say (sudo refused, the shell killed) has no
such line."""

from __future__ import annotations

# `sudo -n` never prompts: the login needs NOPASSWD sudo (README), and without it the step fails
# with sudo's own "a password is required" before anything runs.
ROOT_SHELL = "sudo -n bash -s"
LOGIN_SHELL = "bash -s"  # where the device authorises by group and root is not needed (NVUE)
RESULT = "### nr-apply result "
SECTION = "### "  # what a script reports besides its result: `### <name>` then the value
HEREDOC_TAG = "NR_APPLY_EOF"


def heredoc(path: str, text: str) -> list[str]:
    """Lines writing `text` to `path` (a quoted heredoc: nothing in it is expanded)."""
    return [f"cat > {path} <<'{HEREDOC_TAG}'", *text.rstrip("\n").splitlines(), HEREDOC_TAG]


def result_line(word: str) -> str:
    return f"echo '{RESULT}{word}'"


def script_result(output: str) -> tuple[str | None, str]:
    """(the result word, or None when the script never got to say; the rest of the output)."""
    lines = output.rstrip("\n").splitlines()
    if lines and lines[-1].startswith(RESULT):
        return lines[-1][len(RESULT):].strip(), "\n".join(lines[:-1])
    return None, "\n".join(lines)


def sections(output: str) -> dict[str, str]:
    """The `### <name>` sections a script printed, by name (the text up to the next header)."""
    found: dict[str, str] = {}
    name = None
    for line in output.splitlines():
        if line.startswith(SECTION) and not line.startswith(RESULT):
            name = line[len(SECTION):].strip()
            found[name] = ""
        elif name is not None:
            found[name] += line + "\n"
    return found

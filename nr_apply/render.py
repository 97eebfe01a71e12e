"""Render a node's lossless state into its platform's native form with Jinja2.

The environment is built once per process (templates compile once, however many nodes), and
templates only lay out text: the platform module prepares a plain context, so every platform
quirk (units, names, map shapes) lives in one place.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import jinja2

@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    root = resources.files("nr_apply.templates")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,  # a missing key is a bug, never an empty line
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


@lru_cache(maxsize=None)
def template(name: str) -> jinja2.Template:
    return environment().get_template(name)


def render_context(name: str, context: dict) -> str:
    """Lay out `context` with the template at `name` (under nr_apply/templates)."""
    return template(name).render(**context)

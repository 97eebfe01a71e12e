"""Render a node's lossless state into its platform's native form with Jinja2.

The environment is built once per process (templates compile once, however many nodes), and
templates only lay out text: the platform module prepares a plain context, so every platform
quirk (units, names, map shapes) lives in one place.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import jinja2

TEMPLATE_OF = {"eos": "eos/lossless.j2", "sonic": "sonic/config_db.json.j2",
               "linux": "linux_nic/lossless.j2"}


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
def template(platform: str) -> jinja2.Template:
    return environment().get_template(TEMPLATE_OF[platform])


def render_context(platform: str, context: dict) -> str:
    return template(platform).render(**context)

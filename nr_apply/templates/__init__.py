"""Jinja2 templates per platform (installed as `nr_apply.templates`)."""

"""Secrets out of every output."""

from __future__ import annotations


def scrub(text: str, secrets: set[str]) -> str:
    """Defence in depth: no password reaches any output, even inside a device's error text."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text

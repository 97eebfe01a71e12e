"""Nornir task functions (installed as `nr_apply.tasks`).

Public, for any Nornir script: `lossless_diff` and `lossless_apply`, and the steps
`lossless_apply` is made of (see `nr_apply.tasks.lossless`)."""

from nr_apply.errors import LosslessError
from nr_apply.tasks.lossless import (
    LosslessDiff,
    lossless_apply,
    lossless_confirm,
    lossless_diff,
    lossless_push,
    lossless_read,
    lossless_rollback,
    lossless_verify,
    release_host,
)

__all__ = ["LosslessDiff", "LosslessError", "lossless_apply", "lossless_confirm", "lossless_diff", "lossless_push",
           "lossless_read", "lossless_rollback", "lossless_verify", "release_host"]

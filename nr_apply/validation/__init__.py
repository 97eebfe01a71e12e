"""Fabric-wide validation before anything is touched: schema first (at load), then the
consistency rules of rules.md sections 2 and 3, headroom, and the plan's phase layout."""

from nr_apply.validation.findings import Finding, ValidationReport
from nr_apply.validation.run import validate_fabric

__all__ = ["Finding", "ValidationReport", "validate_fabric"]

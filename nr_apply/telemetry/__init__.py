"""Streaming telemetry: gNMI subscriptions to the switches a batch touches, the time series
they produce, and gate verdicts judged on those series (CLI samples stay the fallback)."""

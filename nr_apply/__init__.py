"""nr-apply: lossless RoCEv2 fabric intent, validated, diffed and rolled out safely."""

__version__ = "0.1.0"

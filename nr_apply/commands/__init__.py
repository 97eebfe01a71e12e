"""One module per `nr-apply` subcommand. Each exposes `add_parser(subparsers)`, which
registers the subcommand and sets `func` to a callable `(args) -> int` (an exit code)."""

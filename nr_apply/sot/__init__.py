"""The fabric from a source of truth: NetBox and Nautobot as Nornir inventory plugins.

Each plugin reads devices, their cabled interfaces and the cables in a few paginated bulk
requests, maps them to the Nornir hosts a SimpleInventory of the same fabric would give
(`mapping`), and leaves intent resolution to the `nr_apply_lossless` transform function, as
every other inventory does. The data convention is docs/sot.md."""

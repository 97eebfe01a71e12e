"""Platform drivers: one module per platform behind one small interface (see base.py), and one
descriptor per platform (drivers.py) with everything else nr-apply knows about it."""

"""Nornir task functions a plan runs per node (installed as `nr_apply.tasks`)."""

"""The order a step starts nodes in: the big ones spread through the small ones."""

from __future__ import annotations

from types import SimpleNamespace

from nr_apply.engine import spread


def _fabric(ports: dict[str, int]) -> SimpleNamespace:
    return SimpleNamespace(nodes={name: SimpleNamespace(ports=dict.fromkeys(range(n))) for name, n in ports.items()})


def test_switches_are_spread_evenly_among_hosts_not_started_all_at_once():
    ports = {**{f"leaf{i}": 44 for i in range(5)}, **{f"host{i}": 2 for i in range(20)}}
    order = spread(list(ports), _fabric(ports))
    assert sorted(order) == sorted(ports)
    assert [i for i, name in enumerate(order) if name.startswith("leaf")] == [0, 5, 10, 15, 20]
    assert [n for n in order if n.startswith("host")] == [f"host{i}" for i in range(20)]  # otherwise kept


def test_nodes_of_one_size_keep_their_order():
    ports = {f"leaf{i}": 44 for i in range(4)}
    assert spread(list(ports), _fabric(ports)) == list(ports)
    assert spread([], _fabric({})) == []

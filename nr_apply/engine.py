"""The per-node task chain, run by Nornir's threaded runner: read, diff, plan (dry-run), and
the drivers a run keeps for every node it touches."""

from __future__ import annotations

from dataclasses import dataclass, field

from nornir.core import Nornir

from nr_apply.fabric import Fabric
from nr_apply.outcome import NodeOutcome, StepError, one_line
from nr_apply.platforms.base import Driver
from nr_apply.platforms.drivers import driver_class
from nr_apply.tasks.read import read_and_plan


@dataclass
class Session:
    """One run's view of the fabric: Nornir, and one driver per node (drivers keep device
    sessions such as a pending EOS config session between steps)."""

    fabric: Fabric
    nornir: Nornir
    facets: list[str]
    drivers: dict[str, Driver] = field(default_factory=dict)

    def driver(self, name: str) -> Driver:
        if name not in self.drivers:
            node = self.fabric.nodes[name]
            drv = driver_class(node.platform)(node, self.nornir.inventory.hosts[name])
            drv.nornir_config = self.nornir.config  # type: ignore[attr-defined]
            self.drivers[name] = drv
        return self.drivers[name]

    def run(self, names: list[str], task, **kwargs) -> dict[str, object]:
        """Run `task(task, node, driver, **kwargs)` on `names` in parallel; one result per node.
        A task that raises is turned into a failed outcome for that node only."""
        wanted = set(names)
        nr = self.nornir.filter(filter_func=lambda h: h.name in wanted)

        def wrapper(t):
            # Built inside the task so a driver that cannot even be created fails its node only.
            return task(t, node=self.fabric.nodes[t.host.name], driver=self.driver(t.host.name), **kwargs)

        results = nr.run(task=wrapper, name=task.__name__, raise_on_error=False, on_failed=True)
        out: dict[str, object] = {}
        for name in names:
            multi = results.get(name)
            result = multi[0] if multi else None
            if result is not None and result.exception is not None:
                node = self.fabric.nodes[name]
                out[name] = NodeOutcome(name=name, platform=node.platform, status="failed",
                                        error=StepError(getattr(result.exception, "step", "connect"),
                                                        one_line(str(result.exception))
                                                        or type(result.exception).__name__))
            else:
                out[name] = result.result if result is not None else None
        return out

    def close(self) -> None:
        for drv in self.drivers.values():
            try:
                drv.close()
            except Exception:
                pass
        try:
            self.nornir.close_connections(on_good=True, on_failed=True)
        except Exception:
            pass


def dry_run(session: Session, names: list[str]) -> list[NodeOutcome]:
    results = session.run(names, read_and_plan, facets=session.facets)
    return [results[n] for n in names]  # type: ignore[misc]

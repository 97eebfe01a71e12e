"""The journal and the progress view follow the rollout's device steps from one table
(nr_apply/tasks/steps.py): a node that passes or fails a step's task is in that step's journal
state, and its progress row moves on to the step the table says comes next."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from nr_apply.journal_processor import JournalProcessor
from nr_apply.report.progress import Progress
from nr_apply.state import open_store
from nr_apply.tasks.steps import STEPS

DEVICE_STEPS = [s for s in STEPS if s.task is not None]


class Result(list):
    """What Nornir hands a processor for one node: its results, and whether the task failed."""

    def __init__(self, failed: bool):
        super().__init__([SimpleNamespace(result="done", exception=RuntimeError("commit rejected") if failed else None)])
        self.failed = failed


@pytest.mark.parametrize("step", DEVICE_STEPS, ids=lambda s: s.name)
@pytest.mark.parametrize("failed", [False, True], ids=["passed", "failed"])
def test_a_device_step_moves_the_node_to_its_journal_state_and_its_next_row(tmp_path, step, failed):
    with open_store(str(tmp_path / "state")) as store:
        journal = store.journal
        journal.start_run("r1", "lab", "plan", "plan.yaml", None, "sha", "inventory", 60)
        journal.add_node("r1", "leaf1", "eos", "leaves", 1, "{}")
        task = SimpleNamespace(name=step.task.__name__)
        JournalProcessor(journal, "r1").task_instance_completed(task, SimpleNamespace(name="leaf1"), Result(failed))
        assert [n["state"] for n in journal.nodes("r1")] == [step.failed if failed else step.passed]
    progress = Progress(enabled=True, live=False)
    progress.batch("leaves", 1, 1, ["leaf1"])
    progress.task_instance_completed(task, SimpleNamespace(name="leaf1"), Result(failed))
    assert progress.nodes["leaf1"][0] == (f"{step.name} failed" if failed else step.next)


def test_every_step_of_a_batch_is_in_the_table_once_in_order():
    assert [s.name for s in STEPS] == ["pre-flight", "push", "verify", "soak", "gates", "confirm", "rollback"]
    assert [s.task.__name__ for s in DEVICE_STEPS] == ["push_change", "lossless_verify", "lossless_confirm",
                                                       "restore_snapshot"]

"""A command's run, from the plan on disk to the report: what apply, check, apply-plan, resume
and rollback share.

    options.py   what a command asks for (RunOptions), and the follow-up commands it prints
    context.py   the one sequence: load, lock, session, read round (`opened`)
    apply.py     apply and check (dry-run): validate, plan, confirm with the operator, roll out, report
    recovery.py  after a run: `rollback RUN` and `resume RUN`, from its journal

The rollout itself (nr_apply/rollout.py) runs the batches; this package starts it, journals
the run's start and end, and emits the report."""

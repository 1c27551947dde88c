"""Run pulse_reports once with `dag.test()` in this fresh process and print its state and task states as JSON.

Like tests/dags/run_dag.py, but guarded by `__main__`: the DAG renders in a process pool (spawn), whose
workers import the main module of the process they come from."""

from __future__ import annotations

import json
import sys


def main() -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag()
    if bag.import_errors:
        print(json.dumps({"import_errors": {k: str(v) for k, v in bag.import_errors.items()}}))
        sys.exit(2)
    run = bag.dags["pulse_reports"].test()
    tasks: dict[str, list[str]] = {}
    for ti in run.get_task_instances():
        tasks.setdefault(ti.task_id, []).append(str(ti.state))
    print("RESULT " + json.dumps({"state": str(run.state), "tasks": {k: sorted(v) for k, v in tasks.items()}}))


if __name__ == "__main__":
    main()

"""Run one DAG with `dag.test()` in a fresh process (Airflow reads its environment at import) and print
its final state and each task's state as JSON. Used by test_dags.py; `dag.test()` never raises."""

from __future__ import annotations

import json
import sys

from airflow.dag_processing.dagbag import DagBag

dag_id = sys.argv[1]
bag = DagBag()
if bag.import_errors:
    print(json.dumps({"import_errors": {k: str(v) for k, v in bag.import_errors.items()}}))
    sys.exit(2)
run = bag.dags[dag_id].test()
tasks = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
print("RESULT " + json.dumps({"state": str(run.state), "tasks": tasks}))

"""Airflow as Pulse runs it: its environment, `airflow standalone`, the CLI, and the tasks the DAGs call."""

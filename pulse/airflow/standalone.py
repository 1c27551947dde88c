"""`airflow standalone` with no log servers: run as `python -m pulse.airflow.standalone`.

Airflow's scheduler and triggerer each start a log server bound to every interface (8793 and 8794; Airflow has no
setting for its host). On one machine they serve nothing the API server cannot read from the log folder itself,
so Pulse starts both with `--skip-serve-logs` and every port it opens stays on loopback.
"""

from __future__ import annotations

from airflow.cli.commands import standalone_command

_SERVE_LOGS = ("scheduler", "triggerer")


class _SubCommand(standalone_command.SubCommand):
    def __init__(self, parent: object, name: str, command: list[str], env: dict[str, str]) -> None:
        if name in _SERVE_LOGS:
            command = [*command, "--skip-serve-logs"]
        super().__init__(parent, name, command, env)


def main() -> None:
    standalone_command.SubCommand = _SubCommand  # type: ignore[misc]
    standalone_command.StandaloneCommand().run()


if __name__ == "__main__":
    main()

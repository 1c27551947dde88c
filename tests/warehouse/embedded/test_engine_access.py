"""The engine's own check of a non-admin statement, below the HTTP server's tokenizer.

chdb runs every statement of a query it is given (clickhouse-local's multi-query), the `EXPLAIN AST` of the
access check included: were the tokenizer ever to miss a `;` that the engine's lexer sees, the second statement
would run unchecked. The engine refuses it itself. Run in a process of its own: chdb opens one data directory
per process.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import hashlib, sys
    from pathlib import Path
    from pulse.core.settings import WarehouseUser
    from warehouse.embedded.engine import Engine
    from warehouse.errors import ClickHouseError

    reader = WarehouseUser(password_sha256_hex=hashlib.sha256(b"x").hexdigest(), databases=["marts"])
    engine = Engine(Path(sys.argv[1]), lambda user: reader if user == "r" else None, max_concurrent_queries=2)
    try:
        with engine.connection("r", True) as conn:
            conn.prepare("default", {})
            for sql in (
                "SELECT 1; SELECT throwIf(1, 'the second statement ran')",
                "SELECT 1 ; SELECT * FROM file('/etc/hostname', 'LineAsString')",
                b"SELECT '\\\\xff'; SELECT throwIf(1, 'the second statement ran')".decode("utf-8", "surrogateescape"),
            ):
                try:
                    engine.check_access(conn, reader, sql, None)
                    print("ALLOWED", repr(sql))
                except ClickHouseError as err:
                    print(err.name, err.message.replace("\\n", " "))
            engine.check_access(conn, reader, "SELECT splitByChar(';', 'a;b')", None)  # one statement
            print("OK")
    finally:
        engine.close()
    """
)


def test_a_second_statement_the_tokenizer_missed_never_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "warehouse")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[3],
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 0 and lines[-1] == "OK", done.stdout + done.stderr
    assert len(lines) == 4
    for line in lines[:3]:
        assert line.startswith("SYNTAX_ERROR") and "Multi-statements" in line, line
    assert "the second statement ran" not in done.stdout

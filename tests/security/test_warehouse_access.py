"""The read-only and hospital identities of the embedded warehouse, probed as an attacker would (issue 13).

Each request below is the exact escape route that once worked against `pulse_reader`: it must now be refused
by the server before the engine runs it, while the admin keeps every power Pulse's loaders need.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator

import httpx
import pytest

from pulse.core.settings import HOSPITAL_TABLES, Settings
from tests.conftest import WarehouseProcess
from warehouse.access import clickhouse_statements, grant_of, hospital_password, hospital_user, warehouse_account

pytestmark = pytest.mark.xdist_group("warehouse_access")


@pytest.fixture(scope="module")
def server(new_warehouse_module: WarehouseProcess) -> WarehouseProcess:
    return new_warehouse_module


@pytest.fixture(scope="module")
def new_warehouse_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WarehouseProcess]:
    from tests.conftest import free_port

    home = tmp_path_factory.mktemp("access-home")
    proc = WarehouseProcess(home=home, port=free_port()).start()
    admin = proc.client()
    admin.command("CREATE DATABASE IF NOT EXISTS marts")
    admin.command("CREATE DATABASE IF NOT EXISTS raw")
    admin.command("CREATE TABLE raw.customers (id UInt32, pin_hash String) ENGINE = MergeTree ORDER BY id")
    admin.command("INSERT INTO raw.customers VALUES (1, 'secret-hash')")
    for layer in ("staging", "intermediate"):  # below the marts: dbt's views over raw, never the reader's
        admin.command(f"CREATE DATABASE IF NOT EXISTS {layer}")
        admin.command(f"CREATE VIEW {layer}.customers AS SELECT * FROM raw.customers")
    for table in HOSPITAL_TABLES:
        admin.command(
            f"CREATE TABLE {table} (hospital_id UInt32, v Decimal(38, 2)) ENGINE = MergeTree ORDER BY hospital_id"
        )
        admin.command(f"INSERT INTO {table} VALUES (1, 10.5), (2, 20), (3, 30)")
    admin.command("CREATE TABLE marts.dim_hospitals (hospital_id UInt32) ENGINE = MergeTree ORDER BY hospital_id")
    admin.command("INSERT INTO marts.dim_hospitals VALUES (1), (2), (3)")
    admin.close()
    yield proc
    proc.stop()


def secret(server: WarehouseProcess, name: str) -> str:
    return (server.home / "secrets" / name).read_text().strip()


def run(server: WarehouseProcess, user: str, password: str, sql: str, **params: str) -> httpx.Response:
    return httpx.post(f"{server.url}/", content=sql.encode(), params=params, auth=(user, password), timeout=60)


def reader(server: WarehouseProcess, sql: str, **params: str) -> httpx.Response:
    return run(server, "pulse_reader", secret(server, "warehouse_reader_password"), sql, **params)


def hospital(server: WarehouseProcess, hospital_id: int, sql: str, **params: str) -> httpx.Response:
    user = hospital_user([hospital_id])
    return run(server, user, hospital_password(secret(server, "warehouse_hospital_key"), user), sql, **params)


def refused(response: httpx.Response, code: int = 497) -> str:
    assert response.status_code in (403, 500) if code == 164 else response.status_code == 403, response.text
    assert response.text.startswith(f"Code: {code}."), response.text
    return response.text


def escape_routes(server: WarehouseProcess) -> list[str]:
    home = server.home
    return [
        f"SELECT * FROM file('{home}/secrets/warehouse_reader_password', 'LineAsString')",
        f"SELECT * FROM file('{home}/secrets/ops_secret_key', 'LineAsString')",
        f"SELECT file('{home}/secrets/warehouse_hospital_key')",
        f"SELECT * FROM sqlite('{home}/ops.db', 'customers')",
        "SELECT * FROM url('http://127.0.0.1:9/?query=SELECT+1', 'RawBLOB', 's String')",
        "SELECT * FROM merge('raw', '^customers$')",
        "SELECT * FROM remote('127.0.0.1', raw.customers)",
        "SELECT * FROM s3('http://127.0.0.1:9/b/k', 'CSV', 'a String')",
        "SELECT * FROM postgresql('127.0.0.1:9', 'db', 't', 'u', 'p')",
        "SELECT * FROM executable('cat /etc/passwd', 'LineAsString', 's String')",
        "SELECT * FROM raw.customers",
        "SELECT * FROM marts.dim_hospitals WHERE hospital_id IN raw.customers",
        "SELECT * FROM (SELECT * FROM raw.customers)",
        "SELECT * FROM marts.dim_hospitals AS h JOIN raw.customers AS c ON c.id = h.hospital_id",
        "SELECT dictGet('d', 'a', 1)",
        "SELECT joinGet('raw.customers', 'pin_hash', 1)",
        "SELECT * FROM system.users",
        "SELECT query FROM system.processes",
        "EXPLAIN SELECT * FROM file('/etc/passwd', 'LineAsString')",
        "DESCRIBE TABLE raw.customers",
        "SHOW CREATE TABLE raw.customers",
        "SHOW TABLES FROM raw",
    ]


def test_reader_escape_routes_are_refused(server: WarehouseProcess) -> None:
    for sql in escape_routes(server):
        text = refused(reader(server, sql))
        assert "Not enough privileges" in text, sql
        assert "secret-hash" not in text


def test_server_side_parameters_cannot_smuggle_a_table_or_a_path(server: WarehouseProcess) -> None:
    """Parameters are substituted before the check: `{t:Identifier}` is checked as the table it names."""
    refused(reader(server, "SELECT * FROM {t:Identifier}", param_t="raw.customers"))
    refused(reader(server, "SELECT * FROM {d:Identifier}.customers", param_d="raw"))
    refused(reader(server, "SELECT * FROM file({p:String}, 'LineAsString')", param_p="/etc/hostname"))
    assert reader(server, "SELECT count() FROM {d:Identifier}.dim_hospitals", param_d="marts").text == "3\n"


def test_reader_writes_are_refused_and_write_nothing(server: WarehouseProcess) -> None:
    target = server.home / "warehouse" / f"x_{uuid.uuid4().hex}.txt"
    writes = [
        f"INSERT INTO FUNCTION file('{target}', 'RawBLOB', 's String') SELECT 'x'",
        "INSERT INTO FUNCTION url('http://127.0.0.1:9/?query=INSERT', 'RawBLOB', 's String') SELECT 'x'",
        "INSERT INTO marts.dim_hospitals VALUES (9)",
        "CREATE TABLE marts.x (a UInt8) ENGINE = Memory",
        "SYSTEM FLUSH LOGS",
        "SYSTEM STOP MERGES raw.customers",  # what a warehouse-read copy does: parts would pile up unmerged
        "KILL QUERY WHERE 1",
        "WITH 9 AS x INSERT INTO marts.dim_hospitals FORMAT TSV\n9\n",  # an INSERT behind a WITH clause
    ]
    for sql in writes:
        response = reader(server, sql)
        assert response.status_code != 200 and response.text.startswith("Code: 164."), (sql, response.text)
    assert not target.exists()
    assert reader(server, "SELECT count() FROM marts.dim_hospitals").text == "3\n"


def test_no_one_but_the_admin_reads_the_query_and_session_logs(server: WarehouseProcess) -> None:
    """The server logs every query's text: another user's SQL (and what it names) must not reach the reader."""
    query_id = f"admin-{uuid.uuid4().hex}"
    admin = run(server, "default", server.admin_password, "SELECT 'admin-only-literal'", query_id=query_id)
    assert admin.status_code == 200
    assert run(server, "default", server.admin_password, "SYSTEM FLUSH LOGS").status_code == 200
    logged = f"SELECT count() FROM system.query_log WHERE query_id = '{query_id}'"
    assert run(server, "default", server.admin_password, logged).text == "2\n"  # QueryStart and QueryFinish
    for sql in (
        "SELECT query FROM system.query_log",
        "SELECT * FROM system.session_log",
        "SELECT * FROM merge('system', 'log')",
    ):
        for response in (reader(server, sql), hospital(server, 1, sql)):
            assert "admin-only-literal" not in refused(response), sql


def test_a_second_statement_is_refused_before_the_engine_sees_it(server: WarehouseProcess) -> None:
    """chdb runs every statement of a query, the access check's EXPLAIN included: the server refuses a `;` that the
    engine's lexer would end a statement at, wherever its own tokenizer might have hidden it."""
    smuggled = [
        "SELECT 1$a$ '$a$; SELECT concat(' ', pin_hash) FROM raw.customers --'",  # `1$a$` is 1 and a heredoc
        "SELECT 1); SELECT concat(' ', pin_hash) FROM raw.customers",
        "SELECT 1 ;\u00a0SELECT concat(' ', pin_hash) FROM raw.customers",
    ]
    for sql in smuggled:
        response = reader(server, sql)
        assert response.status_code != 200 and "secret-hash" not in response.text, (sql, response.text)
    assert reader(server, "SELECT splitByChar(';', 'a;b')").text == "['a','b']\n"


def test_a_reader_literal_of_bytes_that_are_no_utf8(server: WarehouseProcess) -> None:
    """The statement's bytes reach the engine as they came, and so does its EXPLAIN AST: the check reads it."""
    password = secret(server, "warehouse_reader_password")
    response = httpx.post(f"{server.url}/", content=b"SELECT '\xff;' AS b", auth=("pulse_reader", password), timeout=60)
    assert response.status_code == 200 and response.content == b"\xff;\n", response.text


@pytest.mark.parametrize("lead", ["// a comment\n", "# a comment\n", "/* a /* nested */ comment */ ", "\ufeff"])
def test_a_sessionless_set_never_outlives_its_request(server: WarehouseProcess, lead: str) -> None:
    """Whatever ClickHouse's lexer skips before SET (any comment, a byte-order mark), the pooled connection it ran
    on is not handed to the user's next request with that setting."""
    assert reader(server, f"{lead}SET max_result_rows = 1, result_overflow_mode = 'throw'").status_code == 200
    for _ in range(3):
        assert reader(server, "SELECT number FROM numbers(5)").text == "0\n1\n2\n3\n4\n"


def test_reader_reads_the_marts(server: WarehouseProcess) -> None:
    assert reader(server, "SELECT count() FROM marts.dim_hospitals").text == "3\n"
    assert reader(server, "SELECT count() FROM dim_hospitals", database="marts").text == "3\n"
    cte = "WITH x AS (SELECT hospital_id FROM marts.dim_hospitals) SELECT count() FROM x"
    assert reader(server, cte).text == "3\n"
    assert reader(server, "SELECT sum(number) FROM numbers(10)").text == "45\n"
    assert reader(server, "SELECT name FROM system.settings WHERE name = 'max_threads'").text == "max_threads\n"
    # A CTE cannot pass off a table the reader has no grant on as one of its own.
    refused(reader(server, "WITH c AS (SELECT * FROM raw.customers) SELECT * FROM c"))
    refused(reader(server, "SELECT * FROM customers", database="raw"))
    # Nor anything between raw and the marts: the statements read marts only, so the reader has no grant there.
    for layer in ("staging", "intermediate"):
        refused(reader(server, f"SELECT * FROM {layer}.customers"))


def test_a_statement_allowed_once_is_checked_again_when_it_could_mean_more(server: WarehouseProcess) -> None:
    """Allowed statements are remembered, so a dashboard's repeated queries are parsed once; a name that was no
    table when first checked (a CTE, or nothing yet) is checked anew, so a table created later stays closed."""
    name = f"later_{uuid.uuid4().hex[:8]}"
    sql = f"SELECT count() FROM {name}"
    first = reader(server, sql)
    assert first.status_code != 200 and "UNKNOWN_TABLE" in first.text, first.text
    admin = server.client()
    admin.command(f"CREATE TABLE default.{name} (secret String) ENGINE = Memory")
    admin.command(f"INSERT INTO default.{name} VALUES ('s')")
    admin.close()
    refused(reader(server, sql))
    allowed = "SELECT count() FROM marts.dim_hospitals"
    assert reader(server, allowed).text == reader(server, allowed).text == "3\n"


def test_embedded_admin_has_a_generated_password(server: WarehouseProcess) -> None:
    assert run(server, "default", "", "SELECT 1").status_code == 403
    password = secret(server, "warehouse_default_password")
    assert len(password) >= 24
    assert run(server, "default", password, "SELECT count() FROM raw.customers").text == "1\n"
    # What Pulse's loaders need stays open to the admin: table functions and writes.
    assert (
        run(server, "default", password, "SELECT count() FROM numbers(3) AS n, merge('raw', '^customers$') AS c").text
        == "3\n"
    )


def test_hospital_identity_sees_only_its_rows(server: WarehouseProcess) -> None:
    for table in HOSPITAL_TABLES:
        assert hospital(server, 2, f"SELECT count(), sum(v) FROM {table}").text == "1\t20\n"
        assert hospital(server, 2, f"SELECT count() FROM {table} WHERE 1 OR 1").text == "1\n"
        assert hospital(server, 2, f"SELECT count() FROM {table.split('.')[1]}", database="marts").text == "1\n"
        assert hospital(server, 2, f"SELECT hospital_id FROM (SELECT * FROM {table}) GROUP BY 1").text == "2\n"
    table = HOSPITAL_TABLES[0]
    # Every way around the filter: settings, other tables, table functions.
    refused(hospital(server, 2, f"SELECT count() FROM {table}", additional_table_filters="{}"))
    refused(hospital(server, 2, f"SELECT count() FROM {table} SETTINGS additional_table_filters = {{}}"))
    refused(hospital(server, 2, "SET additional_table_filters = {}", session_id=uuid.uuid4().hex))
    refused(hospital(server, 2, f"SELECT count() FROM {table}", use_query_cache="1"))
    refused(hospital(server, 2, "SELECT * FROM marts.dim_hospitals"))
    refused(hospital(server, 2, f"SELECT * FROM merge('marts', '^{table.split('.')[1]}$')"))
    for sql in escape_routes(server):
        refused(hospital(server, 2, sql))


def test_hospital_identity_needs_its_derived_password(server: WarehouseProcess) -> None:
    user = hospital_user([1])
    assert run(server, user, "", "SELECT 1").status_code == 403
    assert run(server, user, hospital_password("guessed-key", user), "SELECT 1").status_code == 403
    other = hospital_password(secret(server, "warehouse_hospital_key"), hospital_user([2]))
    assert run(server, user, other, "SELECT 1").status_code == 403


def test_production_grants_are_select_only_with_row_policies(tmp_path: object) -> None:
    settings = Settings(home=tmp_path, warehouse_reader_password="r")  # type: ignore[arg-type]
    account = warehouse_account(settings, hospital_user([4, 2]))
    assert account is not None and account.row_filter == "hospital_id IN (2, 4)"
    sql = clickhouse_statements("pulse_hospital_2_4", hashlib.sha256(b"x").hexdigest(), grant_of(account))
    assert not any("SOURCES" in s or ("ALL ON" in s and "REVOKE" not in s) for s in sql)
    assert f"GRANT SELECT ON {HOSPITAL_TABLES[0]} TO pulse_hospital_2_4" in sql
    assert any(s.startswith("CREATE ROW POLICY") and "hospital_id IN (2, 4)" in s for s in sql)
    assert warehouse_account(settings, "pulse_hospital_x") is None
    assert warehouse_account(settings, "nobody") is None


def test_production_reader_has_the_embedded_grants_and_no_sources() -> None:
    import xml.etree.ElementTree as ET

    from pulse.core.settings import READER_DATABASES
    from tests.conftest import REPO

    root = ET.parse(REPO / "docker" / "clickhouse" / "users.d" / "pulse-reader.xml").getroot()  # noqa: S314 - our own file
    grants = [q.text for q in root.findall("users/pulse_reader/grants/query")]
    expected = [f"GRANT SELECT ON {d}.*" for d in READER_DATABASES]
    assert grants == expected
    assert not any("SOURCES" in g or "ALL" in g for g in grants if g)

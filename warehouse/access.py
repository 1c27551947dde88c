"""Who may read what in the embedded warehouse: grants checked on the engine's own parse of every query.

chdb runs like `clickhouse-local`: it has no users, grants or row policies of its own, and its table functions
(`file()`, `url()`, `sqlite()`, `merge()`, ...) reach any file and any address the server process can, whatever
`readonly` says. So the server checks every query of a user other than the admin *before* the engine runs it,
on the tree the engine's parser builds (`EXPLAIN AST`, never a regular expression), and denies by default:

- statements: only SELECT, EXPLAIN, SHOW TABLES/DATABASES, DESCRIBE, EXISTS, SHOW CREATE, USE and (for users
  without a row filter) SET;
- tables: only those of the user's databases, its single granted tables and a few harmless `system` tables;
- no table functions (but generators such as `numbers()`), no dictionaries and no scalar function that reads
  a file, a dictionary or a table by name (`file`, `dictGet*`, `joinGet`, ...);
- a user with a row filter (a hospital's identity) gets it as `additional_table_filters` on every granted
  table, set by the server on each query; it may not send SET, SETTINGS or any setting that would lift it.

A real ClickHouse server gets the same grants as SQL (`clickhouse_statements`): `GRANT SELECT`, no `SOURCES`,
and `CREATE ROW POLICY`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from pulse.core.settings import HOSPITAL_TABLES, Settings, WarehouseUser
from warehouse.errors import ClickHouseError

# Tables of `system` clients read when they connect or describe what they may see.
SYSTEM_TABLES = frozenset(
    {"one", "numbers", "numbers_mt", "zeros", "zeros_mt", "settings", "functions", "data_type_families",
     "time_zones", "formats", "collations", "table_engines", "build_options"}
)  # fmt: skip
# Table functions that read nothing but what they generate.
GENERATOR_TABLE_FUNCTIONS = frozenset(
    {"numbers", "numbers_mt", "zeros", "zeros_mt", "generate_series", "generateseries", "values", "null"}
)
# Scalar functions that read files, dictionaries, tables named by a string, or the server's internals.
DENIED_FUNCTIONS = frozenset(
    {"file", "joinget", "joingetornull", "hascolumnintable", "catboostevaluate", "modelevaluate",
     "addresstoline", "addresstolinewithinlines", "addresstosymbol", "demangle", "filesystemavailable",
     "filesystemcapacity", "filesystemunreserved", "getclienthttpheader", "getmacro", "getserversetting",
     "getmergetreesetting"}
)  # fmt: skip
_IN_FUNCTIONS = frozenset(
    {"in", "notin", "globalin", "globalnotin", "nullin", "notnullin", "globalnullin", "globalnotnullin"}
)
# Settings a row-filtered user may never send: they would lift, change or bypass its filter.
PROTECTED_SETTINGS = frozenset(
    {"additional_table_filters", "additional_result_filter", "readonly", "use_query_cache",
     "enable_reads_from_query_cache", "enable_writes_to_query_cache", "query_cache_share_between_users",
     "optimize_use_projections", "allow_experimental_analyzer", "enable_analyzer"}
)  # fmt: skip
_READ_STATEMENTS = frozenset(
    {"SelectWithUnionQuery", "Explain", "ShowTables", "DescribeQuery", "ExistsTableQuery", "ShowCreateTableQuery",
     "UseQuery", "Set"}
)  # fmt: skip
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
HOSPITAL_USER = re.compile(r"pulse_hospital_(\d+(?:_\d+)*)")


def denied(message: str) -> ClickHouseError:
    return ClickHouseError("ACCESS_DENIED", f"Not enough privileges: {message}", code=497)


def read_only(kind: str) -> ClickHouseError:
    return ClickHouseError("READONLY", f"Cannot execute query in readonly mode: {kind} is not allowed for this user")


@dataclass(frozen=True)
class Grant:
    """What a non-admin user may read. Empty by default: a user nobody granted anything reads nothing."""

    databases: frozenset[str] = frozenset()
    tables: frozenset[str] = frozenset()  # "db.table"
    row_filter: str | None = None  # applied to every granted table (tables only, never whole databases)

    def allows(self, database: str, table: str) -> bool:
        if database == "system":
            return table in SYSTEM_TABLES
        return database in self.databases or f"{database}.{table}" in self.tables

    def settings(self) -> dict[str, str]:
        """Settings the server forces on each of this user's queries."""
        if self.row_filter is None:
            return {}
        filters = ", ".join(f"{_quote(t)}: {_quote(self.row_filter)}" for t in sorted(self.tables))
        return {"additional_table_filters": "{" + filters + "}"}


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def hospital_password(key: str, user: str) -> str:
    """A hospital identity's password: derived from one secret, so no per-hospital state has to be kept."""
    return hmac.new(key.encode(), user.encode(), hashlib.sha256).hexdigest()


def hospital_user(hospital_ids: Iterable[int]) -> str:
    ids = sorted(set(hospital_ids))
    if not ids:
        raise ValueError("a hospital identity needs at least one hospital")
    return "pulse_hospital_" + "_".join(str(i) for i in ids)


def hospital_ids(user: str) -> list[int] | None:
    match = HOSPITAL_USER.fullmatch(user)
    return [int(i) for i in match.group(1).split("_")] if match else None


def hospital_grant(ids: list[int], tables: Iterable[str]) -> Grant:
    return Grant(tables=frozenset(tables), row_filter=f"hospital_id IN ({', '.join(str(i) for i in sorted(ids))})")


# -- the engine's parse tree ---------------------------------------------------------------------------
@dataclass
class Node:
    kind: str
    words: list[str]
    children: list[Node] = field(default_factory=list)
    parent: Node | None = None

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()


def parse_ast(text: str) -> Node:
    """The tree printed by `EXPLAIN AST` (one node a line, indented one space per level)."""
    root = Node("Root", [])
    stack: list[tuple[int, Node]] = [(-1, root)]
    for line in text.splitlines():
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip(" "))
        label = re.sub(r"\s*\(children \d+\)\s*$", "", line.strip())
        label = re.sub(r"\s*\(alias [^)]*\)", "", label)
        kind, *words = label.split(" ")
        while stack[-1][0] >= depth:
            stack.pop()
        parent = stack[-1][1]
        node = Node(kind, words, parent=parent)
        parent.children.append(node)
        stack.append((depth, node))
    return root


def _split_name(name: str, current_database: str) -> tuple[str, str]:
    # EXPLAIN AST prints `a.b` both for database a's table b and for one name "a.b" (a quoted identifier or an
    # Identifier parameter). Reading it as a.b is safe: only the admin creates tables, and none has a dot in its
    # name, so a one-part "a.b" names no table and the engine refuses it as unknown.
    parts = name.split(".")
    if not all(_NAME.fullmatch(p) for p in parts) or len(parts) > 2:
        raise denied(f"cannot check the table name {name!r} (quoted names are refused)")
    return (parts[0], parts[1]) if len(parts) == 2 else (current_database, parts[0])


def check(tree: Node, grant: Grant, current_database: str, exists: Callable[[str, str], bool]) -> None:
    """Raise ACCESS_DENIED unless the user may run the statement. `exists(db, table)`: whether a table exists
    (an unqualified name that is no table of the current database is a CTE, a temporary table or unknown)."""
    statements = tree.children
    if len(statements) != 1 or statements[0].kind not in _READ_STATEMENTS:
        raise read_only(statements[0].kind if statements else "an empty statement")
    top = statements[0]
    granted_databases = grant.databases | {t.split(".")[0] for t in grant.tables}
    if top.kind == "UseQuery" and top.words and top.words[0] not in granted_databases:
        raise denied(f"no grant on database {top.words[0]}")
    if top.kind in ("ExistsTableQuery", "ShowCreateTableQuery"):
        names = [c.words[0] for c in top.children if c.kind == "Identifier" and c.words]
        database, table = (names[0], names[1]) if len(names) == 2 else (current_database, names[-1] if names else "")
        _check_table(grant, database, table)
    if top.kind == "ShowTables":
        for child in top.children:
            if child.kind == "Identifier" and child.words:
                database = child.words[0]
                if database != "system" and database not in grant.databases:
                    raise denied(f"no grant on database {database}")
    for node in tree.walk():
        if node.kind == "Set" and grant.row_filter is not None:
            raise denied("this user may not change settings (SET or SETTINGS)")
        if node.kind == "TableIdentifier" and node.words:
            database, table = _split_name(node.words[0], current_database)
            if "." not in node.words[0] and not grant.allows(database, table) and not exists(database, table):
                continue  # a CTE or a temporary table of this query: the engine resolves it or says it is unknown
            _check_table(grant, database, table)
        elif node.kind == "Function" and node.words:
            name = node.words[0]
            lowered = name.lower()
            if node.parent is not None and node.parent.kind in ("TableExpression", "InsertQuery"):
                if lowered not in GENERATOR_TABLE_FUNCTIONS:
                    raise denied(f"table function {name}() is not allowed for this user")
            elif lowered in DENIED_FUNCTIONS or lowered.startswith("dict"):
                raise denied(f"function {name}() is not allowed for this user")
            elif lowered in _IN_FUNCTIONS:
                args = node.children[0].children if node.children else []
                if len(args) == 2 and args[1].kind == "Identifier" and args[1].words:
                    database, table = _split_name(args[1].words[0], current_database)
                    _check_table(grant, database, table)


def _check_table(grant: Grant, database: str, table: str) -> None:
    if not grant.allows(database, table):
        raise denied(f"no grant to read {database}.{table}")


def clickhouse_statements(user: str, password_sha256_hex: str, grant: Grant) -> list[str]:
    """The same user on a real ClickHouse server: SELECT on its grants only (no SOURCES: no table functions)."""
    statements = [
        f"CREATE USER IF NOT EXISTS {user} IDENTIFIED WITH sha256_hash BY {_quote(password_sha256_hex)}",
        f"ALTER USER {user} IDENTIFIED WITH sha256_hash BY {_quote(password_sha256_hex)} SETTINGS readonly = 2",
        f"REVOKE ALL ON *.* FROM {user}",
    ]
    statements += [f"GRANT SELECT ON {database}.* TO {user}" for database in sorted(grant.databases)]
    statements += [f"GRANT SELECT ON {table} TO {user}" for table in sorted(grant.tables)]
    if grant.row_filter is not None:
        for table in sorted(grant.tables):
            policy = f"{user}_{table.replace('.', '_')}"
            statements.append(f"CREATE ROW POLICY OR REPLACE {policy} ON {table} USING {grant.row_filter} TO {user}")
    return statements


def grant_of(account: WarehouseUser) -> Grant:
    """What a configured user may read."""
    return Grant(frozenset(account.databases), frozenset(account.tables), account.row_filter)


def settings_hospital_password(settings: Settings, user: str) -> str:
    """A hospital identity's password under these settings' hospital key."""
    return hospital_password(settings.hospital_key(), user)


def warehouse_account(settings: Settings, user: str) -> WarehouseUser | None:
    """The embedded server's user by name: a configured one, or a hospital identity (the server caches it)."""
    users = settings.resolved_warehouse_users()
    if user in users:
        return users[user]
    ids = hospital_ids(user)
    if ids is None:
        return None
    grant = hospital_grant(ids, HOSPITAL_TABLES)
    return WarehouseUser(
        password_sha256_hex=hashlib.sha256(settings_hospital_password(settings, user).encode()).hexdigest(),
        tables=sorted(grant.tables),
        row_filter=grant.row_filter,
    )

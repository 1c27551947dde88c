"""The statement/data splitter is a tokenizer: comments, quotes and nesting never fool it."""

from __future__ import annotations

import pytest

from warehouse.sql_split import NeedMoreText, SqlSplitError, split_statement, statement_follows


@pytest.mark.parametrize(
    ("text", "kind", "sql", "fmt"),
    [
        ("SELECT 1", "SELECT", "SELECT 1", None),
        ("SELECT 1 FORMAT JSON", "SELECT", "SELECT 1", "JSON"),
        ("select a, 'FORMAT x' from t format `TSV`;", "SELECT", "select a, 'FORMAT x' from t", "TSV"),
        ("SELECT `FORMAT` FROM t", "SELECT", "SELECT `FORMAT` FROM t", None),
        ("SELECT (SELECT 1 FORMAT CSV)", "SELECT", "SELECT (SELECT 1 FORMAT CSV)", None),
        ("-- FORMAT CSV\nSELECT 1 FORMAT JSONEachRow SETTINGS max_threads=1", "SELECT", None, "JSONEachRow"),
        ("/* a /* nested */ FORMAT CSV */ SELECT 'it''s' FORMAT TSV", "SELECT", None, "TSV"),
        ("WITH 1 AS x SELECT x", "WITH", "WITH 1 AS x SELECT x", None),
        ("CREATE TABLE t (a UInt8) ENGINE = Memory;", "CREATE", "CREATE TABLE t (a UInt8) ENGINE = Memory", None),
        ("INSERT INTO t SELECT * FROM s", "INSERT", "INSERT INTO t SELECT * FROM s", None),
    ],
)
def test_queries(text: str, kind: str, sql: str | None, fmt: str | None) -> None:
    stmt = split_statement(text, complete=True)
    assert stmt.kind == kind
    assert stmt.format == fmt
    assert stmt.data_offset is None
    if sql is not None:
        assert stmt.sql == sql


@pytest.mark.parametrize(
    ("text", "sql", "fmt", "data"),
    [
        ("INSERT INTO t FORMAT CSV\n1,2\n", "INSERT INTO t", "CSV", "1,2\n"),
        (
            "/* seed */ insert into t (a, b) format CSV\n'x;y',2\n",
            "/* seed */ insert into t (a, b)",
            "CSV",
            "'x;y',2\n",
        ),
        ("INSERT INTO t VALUES (1, 'a'), (2, 'b')", "INSERT INTO t", "Values", " (1, 'a'), (2, 'b')"),
        ("INSERT INTO `t` (`format`) FORMAT TSV\n1\n", "INSERT INTO `t` (`format`)", "TSV", "1\n"),
        ('INSERT INTO t SETTINGS async_insert=0 FORMAT JSONEachRow {"a":1}', None, "JSONEachRow", '{"a":1}'),
        ("INSERT INTO t FORMAT Native\n\x00\x01'\"`/*", "INSERT INTO t", "Native", "\x00\x01'\"`/*"),
        ("INSERT INTO t FORMAT RowBinary\r\n\x05", "INSERT INTO t", "RowBinary", "\x05"),
    ],
)
def test_inserts_with_data(text: str, sql: str | None, fmt: str, data: str) -> None:
    stmt = split_statement(text, complete=False)  # the data part is never needed to find the statement
    assert stmt.kind == "INSERT"
    assert stmt.format == fmt
    assert stmt.data_offset is not None
    assert text[stmt.data_offset :] == data
    if sql is not None:
        assert stmt.sql == sql


@pytest.mark.parametrize(
    "prefix", ["INSERT INTO t FORM", "INSERT INTO t FORMAT", "INSERT INTO t /* comment", "INSERT INTO t ('a", "SEL"]
)
def test_incomplete_prefix_asks_for_more(prefix: str) -> None:
    with pytest.raises(NeedMoreText):
        split_statement(prefix, complete=False)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "Empty query"),
        ("  -- only a comment", "Empty query"),
        ("SELECT 1; SELECT 2", "Multi-statements"),
        ("SELECT 'abc", "not closed"),
        ("SELECT /* open", "not closed"),
        ("INSERT INTO t FORMAT (", "format name"),
    ],
)
def test_errors(text: str, reason: str) -> None:
    with pytest.raises(SqlSplitError, match=reason):
        split_statement(text, complete=True)


def _wire(text: str) -> str:
    """The request's UTF-8 bytes as the server scans them (latin-1: one character per byte)."""
    return text.encode().decode("latin-1")


@pytest.mark.parametrize(
    ("text", "kind", "sql", "fmt"),
    [
        # What ClickHouse's lexer also skips as whitespace, after the statement; and a UTF-8 character whose last
        # byte (0xa0, 0x85) Python would strip as latin-1 whitespace.
        ("SELECT 13;\u00a0", "SELECT", "SELECT 13", None),
        ("SELECT 13\u00a0\n FORMAT Native", "SELECT", "SELECT 13\u00a0", "Native"),
        ("SELECT 1;\u3000\ufeff\u2028\u200b", "SELECT", "SELECT 1", None),
        ("SELECT 1 AS à", "SELECT", "SELECT 1 AS à", None),
        ("SELECT 'Å…'", "SELECT", "SELECT 'Å…'", None),
        # Heredocs, curly quotes and `//` comments hide `;` and FORMAT as ClickHouse's lexer does.
        ("SELECT $x$it's; FORMAT CSV$x$ FORMAT TSV", "SELECT", "SELECT $x$it's; FORMAT CSV$x$", "TSV"),
        ("SELECT ‘it;s’ AS “a;b”", "SELECT", "SELECT ‘it;s’ AS “a;b”", None),
        ("SELECT 1 // FORMAT CSV; x\nFORMAT JSON", "SELECT", "SELECT 1 // FORMAT CSV; x", "JSON"),
        ("SELECT $a + $b", "SELECT", "SELECT $a + $b", None),
        # A WITH clause is no INSERT unless INSERT INTO follows it at the top level.
        ("WITH insert AS (SELECT 13 AS n) SELECT * FROM insert", "WITH", None, None),
        ("WITH 13 AS insert SELECT insert", "WITH", None, None),
        ("WITH 1 AS x INSERT INTO t SELECT x", "INSERT", "WITH 1 AS x INSERT INTO t SELECT x", None),
    ],
)
def test_clickhouse_lexer_rules(text: str, kind: str, sql: str | None, fmt: str | None) -> None:
    stmt = split_statement(_wire(text), complete=True)
    assert (stmt.kind, stmt.format, stmt.data_offset) == (kind, fmt, None)
    if sql is not None:
        assert stmt.sql == _wire(sql)


def test_insert_behind_a_with_clause_keeps_its_data() -> None:
    text = "WITH {SELECT:Int32} AS value INSERT INTO t (s) FORMAT TabSeparated\nvalue_1;\n"
    stmt = split_statement(text, complete=False)
    assert (stmt.kind, stmt.sql, stmt.format) == (
        "INSERT",
        "WITH {SELECT:Int32} AS value INSERT INTO t (s)",
        "TabSeparated",
    )
    assert stmt.data_offset is not None
    assert text[stmt.data_offset :] == "value_1;\n"


def test_an_open_heredoc_asks_for_more_and_a_closed_one_is_a_string() -> None:
    with pytest.raises(NeedMoreText):
        split_statement("INSERT INTO t SELECT $p$ FORMAT", complete=False)
    stmt = split_statement(_wire("SELECT $p$\xff';$p$").replace("\xc3\xbf", "\xff"), complete=True)
    assert stmt.sql == "SELECT $p$\xff';$p$"


@pytest.mark.parametrize(
    "text",
    [
        # ClickHouse's lexer ends a number before a `$`: `1$a$ '$a$` is the number 1 and a heredoc, not a number
        # and a string literal that would hide the `;` that follows.
        "SELECT 1$a$ '$a$; SELECT secret FROM t --'",
        "SELECT 1abc$a$ '$a$; SELECT secret FROM t --'",
        # A `;` ends the statement at any bracket depth: the engine's lexer counts no brackets, and an unbalanced
        # `)` must not hide it.
        "SELECT (1; SELECT secret FROM t)",
        "SELECT 1); SELECT secret FROM t",
    ],
)
def test_a_second_statement_is_never_hidden(text: str) -> None:
    with pytest.raises(SqlSplitError, match="Multi-statements"):
        split_statement(text, complete=True)


@pytest.mark.parametrize(
    ("text", "number"),
    [("1e-5", "1e-5"), ("0x1Fp+2", "0x1Fp+2"), ("1.5E+3", "1.5E+3"), ("0b101", "0b101"), ("1abc", "1abc")],
)
def test_numbers_as_clickhouse_lexes_them(text: str, number: str) -> None:
    assert split_statement(f"SELECT {text}, 2", complete=True).sql == f"SELECT {number}, 2"


@pytest.mark.parametrize(
    ("data", "follows"),
    [
        (" (1, 'a;b'), (2, $x$;$x$)", False),
        (" (1, 'a');", False),
        (" (1, 'a'); -- the end\n", False),
        (" (1, 'a'); DROP TABLE t", True),
        (" (1, 'a')\n;SELECT 1", True),
        (" (1, /* ; */ 'a') ; /* */ ;", True),
    ],
)
def test_a_statement_after_values_data(data: str, follows: bool) -> None:
    assert statement_follows(data) is follows

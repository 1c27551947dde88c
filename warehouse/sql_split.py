"""Split an HTTP request's text into the SQL statement and the data that follows it.

ClickHouse lets a client send `INSERT INTO t FORMAT CSV\\n<rows...>` as one body, and `SELECT ... FORMAT
JSON` with the output format at the end. To stream the data part straight into the engine and to know the
output format before the first byte, the statement has to be found exactly, so this is a real tokenizer
(comments, quoted identifiers, string literals with escapes, nesting), not a regular expression.

The text is scanned as latin-1 so that character offsets are byte offsets: the data part may be binary. So
UTF-8 that ClickHouse's lexer reads as one unit (a non-breaking space, a curly quote) is matched as bytes here,
and only ASCII blanks are ever stripped (Python's str.strip() would also strip \x85 and \xa0, which are the
last bytes of UTF-8 characters such as 'à').
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


def as_scanned(text: str) -> str:
    """A statement held as str, in the tokenizer's terms: its UTF-8 bytes read as latin-1. Bytes that were no UTF-8
    and are held as surrogates (as the warehouse server holds them) become those bytes again. `from_scanned` turns a
    piece of it back."""
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


def from_scanned(text: str) -> str:
    return text.encode("latin-1").decode("utf-8", "surrogateescape")


_WORD_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_WORD_CHARS = _WORD_START | frozenset("0123456789$")
_SPACE = frozenset(" \t\r\n\f\v")
_DIGITS = frozenset("0123456789")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_ASCII_WORD_CHARS = _WORD_START | _DIGITS
ASCII_BLANKS = " \t\r\n\f\v"
# What ClickHouse's lexer (skipWhitespacesUTF8) also skips as whitespace, as UTF-8 bytes read as latin-1:
# U+0085 U+00A0 U+180E U+2000..U+200D U+2028 U+2029 U+202F U+205F U+2060 U+3000 U+FEFF.
_UTF8_SPACES = tuple(
    as_scanned(c)
    for c in "\u0085\u00a0\u180e\u2028\u2029\u202f\u205f\u2060\u3000\ufeff"
    + "".join(chr(cp) for cp in range(0x2000, 0x200E))
)
# Curly-quoted strings (‘...’) and identifiers (“...”), as UTF-8 read as latin-1: opener -> closer.
_UNICODE_QUOTES = {
    as_scanned("\u2018"): as_scanned("\u2019"),
    as_scanned("\u201c"): as_scanned("\u201d"),
}


class SqlSplitError(ValueError):
    """The text is not one complete statement (the server answers it as a syntax error)."""


class NeedMoreText(Exception):
    """The statement continues past the text seen so far: read more of the body and try again."""


@dataclass(frozen=True)
class Token:
    kind: str  # "word", "quoted", "string", "number", "punct", "end"
    text: str
    start: int
    end: int
    depth: int  # bracket depth before the token


@dataclass
class Statement:
    """One statement found at the start of a request text.

    - `kind`: the first keyword, upper-cased (SELECT, INSERT, CREATE, ...; WITH for CTE selects).
    - `sql`: the statement to hand to the engine; for an INSERT with data, the part before FORMAT/VALUES;
      for a query with an output FORMAT clause, the statement with that clause cut out.
    - `format`: the output format named in the statement, or the input format of an INSERT's data.
    - `data_offset`: for an INSERT with inline data, where the data begins in the text (None otherwise).
    """

    kind: str
    sql: str
    format: str | None = None
    data_offset: int | None = None

    @property
    def is_insert_with_data(self) -> bool:
        return self.data_offset is not None


def _tokens(text: str, complete: bool) -> Iterator[Token]:
    """Tokenize lazily up to and including the first top-level `;`, or to the end of the text.

    Lazy, so that an INSERT stops reading at its FORMAT clause and never tokenizes the (binary) data.
    Raises NeedMoreText when the text ends inside a comment, string or quoted identifier and more may come.
    """
    i, n, depth = 0, len(text), 0
    while i < n:
        ch = text[i]
        if ch in _SPACE:
            i += 1
        elif ch >= "\x80" and (space := _utf8_space(text, i)):
            i += space
        elif text.startswith(("--", "//", "#!", "# "), i):
            j = text.find("\n", i)
            if j < 0:
                if not complete:
                    raise NeedMoreText
                j = n
            i = j + 1
        elif text.startswith("/*", i):
            # ClickHouse allows nested block comments.
            level, j = 1, i + 2
            while level and j < n:
                if text.startswith("/*", j):
                    level, j = level + 1, j + 2
                elif text.startswith("*/", j):
                    level, j = level - 1, j + 2
                else:
                    j += 1
            if level:
                if not complete:
                    raise NeedMoreText
                raise SqlSplitError("Multi-line comment is not closed")
            i = j
        elif ch == "$" and (heredoc := _heredoc_end(text, i, complete)) is not None:
            yield Token("string", text[i:heredoc], i, heredoc, depth)
            i = heredoc
        elif ch == "\xe2" and text[i : i + 3] in _UNICODE_QUOTES:
            closer = _UNICODE_QUOTES[text[i : i + 3]]
            j = text.find(closer, i + 3)
            if j < 0:
                if not complete:
                    raise NeedMoreText
                raise SqlSplitError("Cannot parse quoted string: it is not closed")
            kind = "string" if text[i + 2] == "\x98" else "quoted"
            yield Token(kind, text[i : j + 3], i, j + 3, depth)
            i = j + 3
        elif ch in "'\"`":
            j = i + 1
            while True:
                if j >= n:
                    if not complete:
                        raise NeedMoreText
                    what = "string literal" if ch == "'" else "quoted identifier"
                    raise SqlSplitError(f"Cannot parse {what}: it is not closed")
                c = text[j]
                if c == "\\":
                    j += 2
                    continue
                if c == ch:
                    if j + 1 < n and text[j + 1] == ch:  # doubled quote escapes itself
                        j += 2
                        continue
                    break
                j += 1
            yield (Token("string" if ch == "'" else "quoted", text[i : j + 1], i, j + 1, depth))
            i = j + 1
        elif ch in _WORD_START or (ch == "$" and i + 1 < n and text[i + 1] in _WORD_CHARS and text[i + 1] != "$"):
            j = i + 1
            while j < n and text[j] in _WORD_CHARS:
                j += 1
            if j == n and not complete:
                raise NeedMoreText  # a keyword may be cut in two
            yield (Token("word", text[i:j], i, j, depth))
            i = j
        elif "0" <= ch <= "9":
            j = _number_end(text, i)
            yield (Token("number", text[i:j], i, j, depth))
            i = j
        elif ch == ";":
            # At any depth: ClickHouse's lexer knows no brackets, and an unbalanced `)` must not hide a `;`.
            yield Token("end", ";", i, i + 1, depth)
            return
        else:
            if ch in "([{":
                yield (Token("punct", ch, i, i + 1, depth))
                depth += 1
            elif ch in ")]}":
                depth -= 1
                yield (Token("punct", ch, i, i + 1, depth))
            else:
                yield (Token("punct", ch, i, i + 1, depth))
            i += 1


def _number_end(text: str, i: int) -> int:
    """Where the number at i ends, as ClickHouse's lexer reads it: `0x`/`0b`, digits, a fraction, an exponent
    with its sign; ASCII word characters after it make it a bare word, but never a `$`, which may open a
    heredoc (`1$a$;$a$` is the number 1 and a heredoc)."""
    n = len(text)
    hexadecimal = False
    if i + 2 < n and text[i] == "0" and text[i + 1] in "xXbB":
        hexadecimal = text[i + 1] in "xX"
        j = i + 2
    else:
        j = i + 1
    digits = _HEX_DIGITS if hexadecimal else _DIGITS
    while j < n and text[j] in digits:
        j += 1
    if j < n and text[j] == ".":
        j += 1
        while j < n and text[j] in digits:
            j += 1
    if j + 1 < n and text[j] in ("pP" if hexadecimal else "eE"):
        j += 1
        if j + 1 < n and text[j] in "+-":
            j += 1
        while j < n and text[j] in _DIGITS:
            j += 1
    while j < n and text[j] in _ASCII_WORD_CHARS:
        j += 1
    return j


def leading_words(text: str, count: int) -> list[str]:
    """The statement's first `count` tokens, upper-cased words (anything else ends the list)."""
    words: list[str] = []
    try:
        for tok in _tokens(text, True):
            if tok.kind != "word" or len(words) == count:
                break
            words.append(tok.text.upper())
    except SqlSplitError:
        pass
    return words


def statement_follows(text: str) -> bool:
    """Whether a `;` in `text` (Values data, which is SQL literals) is followed by anything but blanks
    and comments: the engine, given statement and data as one query, would run that as a statement of its own."""
    tokens = _tokens(text, True)
    for tok in tokens:
        if tok.kind == "end":
            return next(_tokens(text[tok.end :], True), None) is not None
    return False


def _utf8_space(text: str, i: int) -> int:
    """The length of the UTF-8 whitespace character at i (0 if there is none)."""
    for space in _UTF8_SPACES:
        if text.startswith(space, i):
            return len(space)
    return 0


def _heredoc_end(text: str, i: int, complete: bool) -> int | None:
    """Where the heredoc `$tag$...$tag$` starting at i ends, or None when `$` starts none (ClickHouse's lexer:
    the tag runs to the next `$`, whatever it holds, and the string to the next copy of the tag)."""
    tag_end = text.find("$", i + 1)
    if tag_end >= 0:
        tag = text[i : tag_end + 1]
        close = text.find(tag, tag_end + 1)
        if close >= 0:
            return close + len(tag)
    if not complete:
        raise NeedMoreText  # the rest of the body may close it
    return None


def _unquote_name(token: Token) -> str:
    if token.kind == "quoted":
        return token.text[1:-1]
    return token.text


def split_statement(text: str, complete: bool) -> Statement:
    """Find the statement at the start of `text`.

    `complete` says whether `text` is the whole request (else it is a prefix of a longer body, and
    NeedMoreText is raised when the statement does not end inside it).
    """
    stream = _tokens(text, complete)
    first = next(stream, None)
    if first is None or first.kind == "end":
        if not complete:
            raise NeedMoreText
        raise SqlSplitError("Empty query")
    kind = first.text.upper() if first.kind == "word" else ""
    if kind == "INSERT":
        return _split_insert(text, stream, complete)
    head = [first]
    if kind == "WITH":
        # `WITH <expressions> INSERT INTO ...` is an INSERT (with inline data, maybe) behind a WITH clause;
        # its main query's SELECT, if it has one instead, comes at the top level before any INSERT INTO.
        for tok in stream:
            head.append(tok)
            if tok.kind == "end" or _top_word(tok) == "SELECT":
                break
            if _top_word(tok) == "INTO" and _top_word(head[-2]) == "INSERT":
                return _split_insert(text, stream, complete, seen=2)
    # Anything but an INSERT with data: the statement is the whole text, minus a trailing ';'.
    if not complete:
        raise NeedMoreText
    return _whole_statement(text, kind, [*head, *stream])


def _top_word(token: Token) -> str | None:
    return token.text.upper() if token.kind == "word" and token.depth == 0 else None


def _whole_statement(text: str, kind: str, tokens: list[Token]) -> Statement:
    words = [t for t in tokens if t.kind != "end"]
    end_index = next((k for k, t in enumerate(tokens) if t.kind == "end"), None)
    stmt_end = len(text)
    if end_index is not None:
        stmt_end = tokens[end_index].start
        rest = text[tokens[end_index].end :]
        if next(_tokens(rest, True), None) is not None:
            raise SqlSplitError("Multi-statements are not allowed")
    fmt, sql = None, text[:stmt_end]
    for k, tok in enumerate(words):
        if tok.depth == 0 and tok.kind == "word" and tok.text.upper() == "FORMAT" and k + 1 < len(words):
            name_tok = words[k + 1]
            if name_tok.kind in ("word", "quoted"):
                fmt = _unquote_name(name_tok)
                # Cut `FORMAT <name>` out: the server decides how the result is encoded on the wire.
                sql = text[: tok.start] + " " + text[name_tok.end : stmt_end]
                break
    return Statement(kind=kind, sql=sql.strip(ASCII_BLANKS), format=fmt)


def _split_insert(text: str, stream: Iterator[Token], complete: bool, seen: int = 1) -> Statement:
    """The rest of an INSERT, from the tokens after its INSERT keyword (`seen` tokens of it read so far)."""
    stmt_end = len(text)
    for tok in stream:
        seen += 1
        if tok.kind == "end":
            stmt_end = tok.start
            break
        if tok.depth != 0 or tok.kind != "word":
            continue
        upper = tok.text.upper()
        if upper == "FORMAT":
            name_tok = next(stream, None)
            if name_tok is None or name_tok.kind not in ("word", "quoted"):
                if name_tok is None and not complete:
                    raise NeedMoreText
                raise SqlSplitError("Expected format name after FORMAT")
            data = name_tok.end
            # The data begins after the format name and the blanks up to and including one line break.
            while data < len(text) and text[data] in " \t":
                data += 1
            if text.startswith("\r\n", data):
                data += 2
            elif text.startswith("\n", data):
                data += 1
            return Statement("INSERT", text[: tok.start].strip(ASCII_BLANKS), _unquote_name(name_tok), data)
        if upper == "VALUES":
            return Statement("INSERT", text[: tok.start].strip(ASCII_BLANKS), "Values", tok.end)
        if upper in ("SELECT", "WITH") and seen > 2:
            # INSERT ... SELECT: an ordinary statement that the engine runs whole.
            if not complete:
                raise NeedMoreText
            return _whole_statement(text, "INSERT", list(_tokens(text, True)))
    if not complete:
        raise NeedMoreText
    # `INSERT INTO t` with the rows after it and no FORMAT: ClickHouse reads them as Values.
    return Statement("INSERT", text[:stmt_end].strip(ASCII_BLANKS), "Values", stmt_end)

"""ClickHouse errors as the HTTP interface reports them: `Code: N. DB::Exception: ... (NAME)`."""

from __future__ import annotations

import re

# Codes the HTTP layer raises itself (numbers from ClickHouse's src/Common/ErrorCodes.cpp).
CODES: dict[str, int] = {
    "SYNTAX_ERROR": 62,
    "BAD_ARGUMENTS": 36,
    "UNKNOWN_SETTING": 115,
    "READONLY": 164,
    "TOO_MANY_SIMULTANEOUS_QUERIES": 202,
    "CANNOT_DECOMPRESS": 271,
    "UNKNOWN_FORMAT": 73,
    "QUERY_IS_TOO_LARGE": 229,
    "SESSION_NOT_FOUND": 372,
    "SESSION_IS_LOCKED": 373,
    "QUERY_WAS_CANCELLED": 394,
    "UNKNOWN_COMPRESSION_METHOD": 89,
    "ATTEMPT_TO_READ_AFTER_EOF": 32,
    "TIMEOUT_EXCEEDED": 159,
    "AUTHENTICATION_FAILED": 516,
    "HTTP_LENGTH_REQUIRED": 381,
    "NOT_IMPLEMENTED": 48,
    "UNKNOWN_EXCEPTION": 1002,
    "ABORTED": 236,
    "CANNOT_READ_ALL_DATA": 33,
    "QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING": 216,
}

# HTTP status for an error name, as in ClickHouse's src/Server/HTTP/exceptionCodeToHTTPStatus.cpp.
_STATUS_BY_NAME: dict[str, int] = {
    "REQUIRED_PASSWORD": 401,
    **dict.fromkeys(
        ["UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE", "ACCESS_DENIED"], 403
    ),
    **dict.fromkeys(
        [
            "BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT", "CANNOT_PARSE_ESCAPE_SEQUENCE",
            "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE", "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER",
            "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING", "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6",
            "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "CANNOT_PARSE_UUID", "DUPLICATE_COLUMN", "ILLEGAL_COLUMN",
            "UNKNOWN_ELEMENT_IN_AST", "UNKNOWN_TYPE_OF_AST_NODE", "THERE_IS_NO_COLUMN", "TOO_DEEP_AST",
            "TOO_BIG_AST", "UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH",
            "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
        ],
        400,
    ),
    **dict.fromkeys(
        [
            "UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE", "UNKNOWN_STORAGE",
            "UNKNOWN_DATABASE", "UNKNOWN_SETTING", "UNKNOWN_DIRECTION_OF_SORTING", "UNKNOWN_AGGREGATE_FUNCTION",
            "UNKNOWN_FORMAT", "UNKNOWN_DATABASE_ENGINE", "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE",
        ],
        404,
    ),
    "QUERY_IS_TOO_LARGE": 413,
    "NOT_IMPLEMENTED": 501,
    "SOCKET_TIMEOUT": 503,
    "CANNOT_OPEN_FILE": 503,
    "HTTP_LENGTH_REQUIRED": 411,
    "TIMEOUT_EXCEEDED": 408,
    "CANNOT_SCHEDULE_TASK": 503,
    "UNSUPPORTED_MEDIA_TYPE": 415,
}  # fmt: skip

_ENGINE_MESSAGE = re.compile(
    r"Code: (\d+)\. DB::Exception: (.*?)(?: \(([A-Z_0-9]+)\))?(?: \(version [^)]*\))?\s*$", re.S
)


class ClickHouseError(Exception):
    """An error to report to the client exactly as ClickHouse would."""

    def __init__(self, name: str, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.code = code if code is not None else CODES.get(name, CODES["UNKNOWN_EXCEPTION"])
        self.message = message

    @property
    def http_status(self) -> int:
        return _STATUS_BY_NAME.get(self.name, 500)

    def body(self, version: str | None = None) -> bytes:
        suffix = f" (version {version})" if version else ""
        return f"Code: {self.code}. DB::Exception: {self.message}. ({self.name}){suffix}\n".encode()

    @classmethod
    def from_engine(cls, exc: BaseException) -> ClickHouseError:
        """Turn an engine exception (its text is already `Code: N. DB::Exception: ...`) into ours."""
        text = str(exc)
        start = text.find("Code: ")
        if start >= 0:
            match = _ENGINE_MESSAGE.match(text[start:].strip())
            if match:
                message = match.group(2).rstrip(".")
                return cls(match.group(3) or "UNKNOWN_EXCEPTION", message, int(match.group(1)))
        return cls("UNKNOWN_EXCEPTION", text.strip() or type(exc).__name__)


def auth_failed(user: str) -> ClickHouseError:
    return ClickHouseError(
        "AUTHENTICATION_FAILED",
        f"{user}: Authentication failed: password is incorrect, or there is no user with such name",
    )

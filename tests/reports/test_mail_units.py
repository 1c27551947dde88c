"""Message details that need no server: Message-IDs, the DATA payload and the plain-text body."""

from __future__ import annotations

from reports.mail import html_to_text, message_id
from reports.smtp import dot_stuffed


def test_message_ids_are_stable_per_statement() -> None:
    a = message_id(3, "Anna@example.ru", "2026-10", "abc", "Pulse <reports@pulse.example.com>")
    assert a == message_id(3, "anna@example.ru", "2026-10", "abc", "reports@pulse.example.com")
    assert a.endswith("@pulse.example.com>") and a.startswith("<report.3.2026-10.")
    assert a != message_id(3, "anna@example.ru", "2026-11", "abc", "reports@pulse.example.com")


def test_data_payload_is_dot_stuffed_with_crlf() -> None:
    assert dot_stuffed(b"a\n.b\r\n..c\rd") == b"a\r\n..b\r\n...c\r\nd\r\n.\r\n"


def test_plain_text_alternative_keeps_words_and_links() -> None:
    html = (
        "<html><head><style>p{color:red}</style></head><body><p>Hello &amp; welcome,</p>"
        "<table><tr><td>Balance</td><td>1 000,00 ₽</td></tr></table>"
        '<p>Unsubscribe: <a href="https://x.example/u/1">here</a></p></body></html>'
    )
    text = html_to_text(html)
    assert "color" not in text and "Hello & welcome," in text
    assert "Balance 1 000,00 ₽" in text and "here (https://x.example/u/1)" in text

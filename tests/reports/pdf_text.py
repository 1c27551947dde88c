"""Reading rendered reports back: text per page (poppler's pdftotext in content-stream order, where WeasyPrint
writes a label right before its value), amounts parsed the locale's way, and PNG pages (pdftoppm)."""

from __future__ import annotations

import re
import subprocess
from decimal import Decimal
from pathlib import Path

# en: 1,234.50 / -374.00; ru: 1 234,50 (the no-break space comes back as a space) / -374,00.
AMOUNT = {
    "en": re.compile(r"-?\d{1,3}(?:,\d{3})*\.\d{2}(?!\d)"),
    "ru": re.compile(r"-?\d{1,3}(?:[ \u00a0\u202f]\d{3})*,\d{2}(?!\d)"),
}
INTEGER = {
    "en": re.compile(r"-?\d{1,3}(?:,\d{3})*(?![\d.,])"),
    "ru": re.compile(r"-?\d{1,3}(?:[ \u00a0]\d{3})*(?![\d,])"),
}


def pages_text(pdf: Path) -> list[str]:
    """Text of every page, in the order the PDF draws it (`pdftotext -raw`)."""
    out = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, check=True, text=True).stdout
    return out.split("\f")[:-1]  # pdftotext ends every page with a form feed


def to_decimal(text: str, locale: str) -> Decimal:
    if locale == "en":
        return Decimal(text.replace(",", ""))
    return Decimal(re.sub(r"[ \u00a0\u202f]", "", text).replace(",", "."))


def amounts(text: str, locale: str) -> list[Decimal]:
    return [to_decimal(m, locale) for m in AMOUNT[locale].findall(text)]


def amount_after(text: str, label: str, locale: str) -> Decimal:
    """The first amount printed after `label` (case and line breaks ignored: labels may be upper-cased or wrap)."""
    flat = re.sub(r"\s+", " ", text)
    at = flat.lower().find(label.lower())
    assert at >= 0, f"label {label!r} not in the text"
    match = AMOUNT[locale].search(flat, at + len(label))
    assert match, f"no amount after {label!r}"
    return to_decimal(match.group(), locale)


def integer_after(text: str, label: str, locale: str) -> int:
    flat = re.sub(r"\s+", " ", text)
    at = flat.lower().find(label.lower())
    assert at >= 0, f"label {label!r} not in the text"
    match = INTEGER[locale].search(flat, at + len(label))
    assert match, f"no number after {label!r}"
    return int(to_decimal(match.group(), locale))


def to_png(pdf: Path, out_dir: Path, resolution: int = 50) -> list[Path]:
    """Every page as a PNG (what a person looks at); returns the files in page order."""
    prefix = out_dir / pdf.stem
    subprocess.run(["pdftoppm", "-r", str(resolution), "-png", str(pdf), str(prefix)], check=True)
    return sorted(out_dir.glob(f"{pdf.stem}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))

"""How an export writes its numbers, dates and text: read them as written, never guessed.

Numbers
    ``decimal=None`` (the default): a point is the decimal mark, and a cell is
    read only when no other reading is possible. ``1234``, ``4.5``, ``0.125``,
    ``1,234.50`` and ``1,234,567`` are read; ``45000,50`` (45000.5 with a
    decimal comma, 4500050 with the comma as a thousands separator), ``1,234``
    and ``$84,000`` (1.234 or 1234), ``1.234`` (1.234 or 1234) and
    ``1.234,56`` are refused, naming both readings.
    ``decimal="point"``: ``,`` groups thousands (``$84,000``, ``1,234,567.89``).
    ``decimal="comma"``: ``,`` is the decimal mark and ``.`` groups thousands
    (``45000,50``, ``1.234.567,89``).
    In every mode a space (also a no-break space) or an apostrophe may group
    thousands (``45 000``, ``1'234``), thousands groups must have three digits
    (``1,23,456`` is refused), one currency symbol (``$ € £ ¥``) may lead or
    trail, and a sign may lead. JSON numbers are numbers: only text is read.

Dates
    ``date_format=None``: ISO 8601 only (``2027-03-15``; a time after the date is
    ignored). With a `strptime` format (``%m/%d/%Y``, ``%d.%m.%Y``) a cell is read
    with it first, then as ISO 8601; a time after the date is ignored.

CSV dialect and encoding
    `detect_delimiter` picks comma, semicolon or tab from the header line;
    `decoded_lines` decodes a byte stream line by line, so a byte that is not
    valid in the encoding is refused naming its line.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import partial
from itertools import repeat
from operator import add
from typing import Any

__all__ = [
    "DECIMAL_MARKS",
    "DELIMITERS",
    "DialectError",
    "ReadOptions",
    "decoded_lines",
    "detect_delimiter",
    "read_date",
    "read_number",
]

DECIMAL_MARKS = ("comma", "point")
#: Delimiter names a user may give, and the character each means.
DELIMITERS = {",": ",", ";": ";", "\t": "\t", "comma": ",", "semicolon": ";", "tab": "\t"}
_DETECTED = (",", ";", "\t")
_DELIMITER_NAME = {",": "comma", ";": "semicolon", "\t": "tab"}


class DialectError(ValueError):
    """A reading option is not valid (unknown decimal mark, delimiter or encoding)."""


@dataclass(frozen=True)
class ReadOptions:
    """How to read one input: all ``None`` means ISO dates, strict numbers, detected dialect.

    ``columns`` maps contract fields to the input's headers and ``constants``
    gives a field one value for every row (both from a column-mapping file).
    """

    date_format: str | None = None
    decimal: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("decimal", "delimiter"):
            value = getattr(self, name)
            if isinstance(value, str) and value.strip():
                object.__setattr__(self, name, value.strip().lower() if len(value) > 1 else value)
        if self.decimal is not None and self.decimal not in DECIMAL_MARKS:
            raise DialectError(f"decimal {self.decimal!r}: expected comma or point")
        if self.delimiter is not None and self.delimiter not in DELIMITERS:
            raise DialectError(
                f"delimiter {self.delimiter!r}: expected comma, semicolon or tab (or , ; \\t)"
            )
        if self.encoding is not None:
            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise DialectError(f"encoding {self.encoding!r}: not an encoding") from None
        if self.date_format is not None:
            check_date_format(self.date_format)

    def merged(self, **given: Any) -> ReadOptions:
        """These options with every given non-None value in place (command-line flags win)."""
        return replace(self, **{k: v for k, v in given.items() if v is not None})

    @property
    def fingerprint(self) -> str:
        """The options that change what a file's bytes mean, as stable text ("" for none)."""
        given = {k: v for k, v in sorted(vars(self).items()) if v}
        return json.dumps(given, sort_keys=True, ensure_ascii=False) if given else ""

    @property
    def delimiter_char(self) -> str | None:
        return None if self.delimiter is None else DELIMITERS[self.delimiter]

    @property
    def context(self) -> dict[str, str] | None:
        """The validation context `skill.record` reads; ``None`` when nothing is set."""
        if self.date_format is None and self.decimal is None:
            return None
        return {"date_format": self.date_format or "", "decimal": self.decimal or ""}


def check_date_format(fmt: str) -> None:
    """Refuse a format that has no day, month and year, so a typo is caught before any row."""
    try:
        sample = date(2027, 3, 15)
        parsed = datetime.strptime(sample.strftime(fmt), fmt).date()
    except ValueError:
        parsed = None
    if parsed != sample:
        raise DialectError(
            f"date format {fmt!r}: it must name a day, a month and a year, e.g. %m/%d/%Y"
        )


# -- numbers ------------------------------------------------------------------------

_CURRENCY = "$€£¥"
_SPACES = str.maketrans("", "", " \u00a0\u202f'’")
_PLAIN = re.compile(r"[+-]?\d+(?:\.\d+)?")
_AMBIGUOUS_POINT = re.compile(r"[+-]?[1-9]\d{0,2}\.\d{3}")


def _grouped_int(text: str, sep: str) -> str | None:
    """Digits with optional thousands separators `sep` in groups of three, or None."""
    if sep not in text:
        return text if text.isdigit() else None
    head, *groups = text.split(sep)
    if not (1 <= len(head) <= 3 and head.isdigit() and head[0] != "0"):
        return None
    if all(len(g) == 3 and g.isdigit() for g in groups):
        return head + "".join(groups)
    return None


def _reading(body: str, mark: str, sep: str) -> str | None:
    """`body` (unsigned, no currency, spaces removed) read with decimal `mark`, or None."""
    whole, has_mark, fraction = body.partition(mark)
    if has_mark and not (whole and fraction.isdigit()):
        return None
    digits = _grouped_int(whole, sep)
    if digits is None:
        return None
    return f"{digits}.{fraction}" if fraction else digits


def _strip_currency(text: str) -> str:
    sign = ""
    if text[:1] in "+-":
        sign, text = text[0], text[1:].lstrip()
    if text[:1] in _CURRENCY:
        text = text[1:].lstrip()
    elif text[-1:] in _CURRENCY:
        text = text[:-1].rstrip()
    if not sign and text[:1] in "+-":
        sign, text = text[0], text[1:]
    return sign + text


def _show(reading: str) -> str:
    """``45000.50`` -> ``45000.5``, ``1234`` -> ``1234``: how a reading is named in a message."""
    if "." in reading:
        reading = reading.rstrip("0").rstrip(".")
    return reading


def read_number(text: str, decimal: str | None = None) -> str:
    """Number text as the plain point-decimal text pydantic reads; `ValueError` if it is unclear.

    `text` is stripped and not blank. Something that is no number in any
    reading is returned as it is, so the field's own message names it.
    """
    if decimal is None and _PLAIN.fullmatch(text) and not _AMBIGUOUS_POINT.fullmatch(text):
        return text
    signed = _strip_currency(text).translate(_SPACES)
    sign = signed[0] if signed[:1] in "+-" else ""
    body = signed[len(sign) :]
    if not body[:1].isdigit():
        return text
    point = _reading(body, ".", ",")
    comma = _reading(body, ",", ".")
    if decimal == "point":
        if point is None:
            raise ValueError(_refusal("with a decimal point", comma, "comma"))
        return sign + point
    if decimal == "comma":
        if comma is None:
            raise ValueError(_refusal("with a decimal comma", point, "point"))
        return sign + comma
    if point is not None and (comma is None or _show(comma) == _show(point)):
        return sign + point
    if comma is None:
        return text  # no number in either reading: the field's own message names it
    # What a reader that dropped every comma would have made of it: the misreading.
    as_point = point if point is not None else body.replace(",", "")
    comma_how = "a decimal comma" + (" and points between thousands" if "." in body else "")
    point_how = "a decimal point" + (" and commas between thousands" if "," in body else "")
    raise ValueError(
        f"ambiguous number: {sign}{_show(comma)} with {comma_how}, or"
        f" {sign}{_show(as_point)} with {point_how}; say which with"
        " --decimal comma or --decimal point"
    )


def _refusal(how: str, other: str | None, other_mark: str) -> str:
    message = f"not a number {how}"
    if other is not None:
        message += f" (it reads as {_show(other)} with a decimal {other_mark})"
    return message


# -- dates --------------------------------------------------------------------------

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def read_date(text: str, date_format: str) -> date | str:
    """`text` read with `date_format` (a time after it ignored), else `text` for the ISO check."""
    try:
        return datetime.strptime(text, date_format).date()
    except ValueError:
        pass
    head = text.split(None, 1)[0] if " " in text or "T" in text else text
    for candidate in (head, text.split("T", 1)[0]):
        try:
            return datetime.strptime(candidate, date_format).date()
        except ValueError:
            continue
    if _ISO_DATE.match(text):
        return text
    example = date(2027, 3, 15).strftime(date_format)
    raise ValueError(f"expected a date like {example} ({date_format}) or ISO 8601 (YYYY-MM-DD)")


# -- CSV dialect and encoding -----------------------------------------------------


def detect_delimiter(header_line: str, name: str) -> str:
    """Comma, semicolon or tab: whichever splits the header into most cells; comma for one."""
    counts = {}
    for candidate in _DETECTED:
        try:
            cells = next(csv.reader([header_line], delimiter=candidate))
        except (csv.Error, StopIteration):
            continue
        counts[candidate] = len(cells)
    best = max(counts.values(), default=1)
    winners = [c for c, n in counts.items() if n == best]
    if best <= 1 or winners == [","]:
        return ","
    if len(winners) > 1:
        names = " and ".join(_DELIMITER_NAME[c] for c in winners)
        raise DialectError(
            f"{name}: the header splits into {best} columns by {names} alike;"
            " say which with --delimiter comma|semicolon|tab"
        )
    return winners[0]


def codec_name(encoding: str | None) -> str:
    """The codec to read with: UTF-8 skips a byte-order mark, given or not."""
    if encoding is None or codecs.lookup(encoding).name == "utf-8":
        return "utf-8-sig"
    return encoding


def encoding_label(encoding: str | None) -> str:
    return "UTF-8" if encoding is None else encoding


# Bytes decoded at a time: large enough that the per-call cost vanishes, small enough
# that a stream's lines come as they arrive (a partial read returns what there is).
DECODE_BLOCK = 1 << 16


def decoded_lines(binary: Iterable[bytes], encoding: str | None, name: str) -> Iterator[str]:
    """Lines of text from `binary` (split at b"\\n"); a bad byte raises naming its line.

    Raises `UnicodeLineError`, a `DialectError` whose message names the source,
    the line and the encoding. The lines before a bad one are given first.
    `binary` is a binary stream (read a block at a time) or any iterable of bytes.
    """
    decoder = codecs.getincrementaldecoder(codec_name(encoding))(errors="strict")
    read = getattr(binary, "read1", None) or getattr(binary, "read", None)
    blocks = iter(binary) if read is None else iter(partial(read, DECODE_BLOCK), b"")
    pending = ""
    line = 1
    for block in blocks:
        state = decoder.getstate()
        try:
            text = decoder.decode(block)
        except UnicodeDecodeError:
            # This block again, a line at a time: its good lines, then the bad one named.
            decoder.setstate(state)
            pieces = block.split(b"\n")
            raws = [piece + b"\n" for piece in pieces[:-1]] + [pieces[-1]]
            pending, line = yield from _lines_one_by_one(
                decoder, raws, pending, line, encoding, name
            )
            continue
        if "\n" not in text:
            pending += text
            continue
        lines = text.split("\n")
        lines[0] = pending + lines[0]
        pending = lines.pop()
        line += len(lines)
        yield from map(add, lines, repeat("\n"))
    try:
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise UnicodeLineError(name, line, encoding, exc) from None
    if pending:
        yield pending


def _lines_one_by_one(
    decoder: codecs.IncrementalDecoder,
    raws: Iterable[bytes],
    pending: str,
    line: int,
    encoding: str | None,
    name: str,
) -> Generator[str, None, tuple[str, int]]:
    """Decode `raws` (each ends a line but the last) one at a time, yielding each line
    as it completes; raise `UnicodeLineError` at the first byte that is not valid.
    Returns the text of the line not yet complete, and its number."""
    for raw in raws:
        try:
            text = decoder.decode(raw)
        except UnicodeDecodeError as exc:
            raise UnicodeLineError(name, line + pending.count("\n"), encoding, exc) from None
        pending += text
        if "\n" in pending:
            *complete, pending = pending.split("\n")
            for piece in complete:
                line += 1
                yield piece + "\n"
    return pending, line


class UnicodeLineError(DialectError):
    """Text that is not valid in its encoding, at a known line."""

    def __init__(self, name: str, line: int, encoding: str | None, exc: UnicodeDecodeError) -> None:
        self.line = line
        hint = (
            "pass --encoding (for example --encoding latin-1 or cp1252) or re-save it as UTF-8"
            if encoding is None
            else "check --encoding"
        )
        super().__init__(
            f"{name}, line {line}: not valid {encoding_label(encoding)} text"
            f" ({exc.reason}: byte {exc.object[exc.start : exc.start + 1]!r}); {hint}"
        )

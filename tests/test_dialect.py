"""Numbers, dates, delimiters and encodings as exports write them: read or refused, not guessed."""

from __future__ import annotations

import contextlib
import io

import pytest

from skill.dialect import (
    DialectError,
    ReadOptions,
    decoded_lines,
    detect_delimiter,
    read_date,
    read_number,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234", "1234"),
        ("4.5", "4.5"),
        ("0.125", "0.125"),
        ("-12", "-12"),
        ("1,234.50", "1234.50"),
        ("1,234,567", "1234567"),
        ("$1,248,000", "1248000"),
        ("-$12.5", "-12.5"),
        ("45 000", "45000"),
    ],
)
def test_unambiguous_numbers_need_no_decimal_mark(text: str, expected: str) -> None:
    assert read_number(text) == expected


@pytest.mark.parametrize("text", ["45000,50", "1,234", "$84,000", "1.234", "1.234,56", "-2,5"])
def test_numbers_that_read_two_ways_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="ambiguous number"):
        read_number(text)


def test_45000_50_names_both_readings() -> None:
    with pytest.raises(ValueError) as caught:
        read_number("45000,50")
    assert "45000.5 with a decimal comma" in str(caught.value)
    assert "4500050 with a decimal point" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45000,50", "45000.50"),
        ("1.234.567,89", "1234567.89"),
        ("45 000,50 €", "45000.50"),
        ("-2,5", "-2.5"),
    ],
)
def test_decimal_comma(text: str, expected: str) -> None:
    assert read_number(text, "comma") == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("$84,000", "84000"), ("1,234,567.89", "1234567.89"), ("1.234", "1.234")]
)
def test_decimal_point(text: str, expected: str) -> None:
    assert read_number(text, "point") == expected


def test_a_number_that_does_not_fit_the_given_mark_is_refused() -> None:
    with pytest.raises(ValueError, match="not a number with a decimal point"):
        read_number("45000,50", "point")


def test_malformed_thousands_groups_are_refused() -> None:
    with pytest.raises(ValueError, match="not a number with a decimal point"):
        read_number("1,23,456", "point")


def test_text_that_is_no_number_is_left_for_the_field_to_name() -> None:
    assert read_number("lots") == "lots"


def test_a_date_format_reads_us_dates_and_still_takes_iso() -> None:
    assert str(read_date("3/15/2027", "%m/%d/%Y")) == "2027-03-15"
    assert str(read_date("3/15/2027 10:30", "%m/%d/%Y")) == "2027-03-15"
    assert read_date("2027-03-15", "%m/%d/%Y") == "2027-03-15"


def test_a_date_that_fits_neither_the_format_nor_iso_is_refused() -> None:
    with pytest.raises(ValueError, match=r"03/15/2027 \(%m/%d/%Y\)"):
        read_date("15.03.2027", "%m/%d/%Y")


def test_a_date_format_without_day_month_and_year_is_refused() -> None:
    with pytest.raises(DialectError, match="day, a month and a year"):
        ReadOptions(date_format="%m/%Y")


@pytest.mark.parametrize(
    ("header", "expected"),
    [("a,b,c", ","), ("a;b;c", ";"), ("a\tb\tc", "\t"), ("a", ","), ('"x;y",b', ",")],
)
def test_delimiter_detection(header: str, expected: str) -> None:
    assert detect_delimiter(header, "f.csv") == expected


def test_a_header_that_splits_two_ways_alike_needs_a_delimiter() -> None:
    with pytest.raises(DialectError, match="--delimiter"):
        detect_delimiter("a;b,c", "f.csv")


def test_decoding_names_the_line_of_a_bad_byte() -> None:
    data = io.BytesIO("a,b\nok,1\nSoci\xe9t\xe9,2\n".encode("latin-1"))
    with pytest.raises(DialectError, match=r"f\.csv, line 3: not valid UTF-8"):
        list(decoded_lines(data, None, "f.csv"))


def test_utf8_byte_order_mark_is_dropped() -> None:
    data = io.BytesIO("\ufeffa,b\n".encode())
    assert list(decoded_lines(data, None, "f.csv")) == ["a,b\n"]


def test_utf16_lines_are_reassembled() -> None:
    data = io.BytesIO("a\tb\nx\ty\n".encode("utf-16"))
    assert list(decoded_lines(data, "utf-16", "f.csv")) == ["a\tb\n", "x\ty\n"]


def _lines_one_at_a_time(data: bytes, encoding: str | None) -> tuple[list[str], str | None]:
    """The plain reading to compare with: each line decoded on its own, in order; the
    lines before a bad byte, and the message naming it."""
    import codecs

    from skill.dialect import UnicodeLineError, codec_name

    decoder = codecs.getincrementaldecoder(codec_name(encoding))(errors="strict")
    lines: list[str] = []
    pending, line = "", 1
    try:
        for raw in io.BytesIO(data):
            try:
                text = decoder.decode(raw)
            except UnicodeDecodeError as exc:
                raise UnicodeLineError("f.csv", line + pending.count("\n"), encoding, exc) from None
            pending += text
            *complete, pending = pending.split("\n")
            line += len(complete)
            lines += [piece + "\n" for piece in complete]
        try:
            pending += decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise UnicodeLineError("f.csv", line, encoding, exc) from None
    except UnicodeLineError as exc:
        return lines, str(exc)
    return lines + ([pending] if pending else []), None


@pytest.mark.parametrize("encoding", [None, "utf-16", "cp1252"])
def test_lines_decoded_a_block_at_a_time_are_those_decoded_one_by_one(
    encoding: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks that end mid-line and mid-character, bad bytes anywhere: the same lines,
    and the same error naming the same line after the same good lines."""
    import random

    from skill import dialect

    rng = random.Random(5)
    words = ["a,b", "Société", "日本", "\r", "€", "x" * 40, "\ufeff", ";", '"q"']
    codec = "utf-8" if encoding is None else encoding
    for _ in range(400):
        text = "".join(rng.choice(words) + rng.choice(["", "\n"]) for _ in range(30))
        data = bytearray(text.encode(codec, errors="replace"))
        if encoding is None and rng.random() < 0.5:
            data.insert(rng.randrange(len(data) + 1), rng.choice([0xE9, 0xFF, 0xC3]))
        if rng.random() < 0.2:
            data[:0] = "\ufeff".encode(codec, errors="replace")
        monkeypatch.setattr(dialect, "DECODE_BLOCK", rng.choice([1, 2, 3, 7, 64, 1 << 16]))
        expected, error = _lines_one_at_a_time(bytes(data), encoding)
        got: list[str] = []
        with contextlib.suppress(DialectError):
            got.extend(decoded_lines(io.BytesIO(bytes(data)), encoding, "f.csv"))
        assert got == expected
        if error is None:
            assert list(decoded_lines(io.BytesIO(bytes(data)), encoding, "f.csv")) == expected
        else:
            with pytest.raises(DialectError) as raised:
                list(decoded_lines(io.BytesIO(bytes(data)), encoding, "f.csv"))
            assert str(raised.value) == error

"""Rows of an `.xlsx` workbook, streamed with openpyxl's read-only mode.

Each row comes with the number the spreadsheet shows beside it (the header is
usually row 1, so the first account is row 2), and its cells as the workbook
typed them: text stays text (and goes through the same number and date reading
as a CSV cell), numbers are numbers (a whole number as an int, so an id typed
as 12345 is "12345", not "12345.0"), a date cell is a date. openpyxl is
imported here only, so reading CSV never pays for it.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

__all__ = ["WorkbookError", "sheet_rows"]


class WorkbookError(Exception):
    """The workbook or the sheet cannot be read; the message says which and why."""


def _cell(value: Any) -> Any:
    """A cell as a record field takes it: "" for empty, dates as dates, whole floats as ints."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date | str | bool | int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, time):
        return value.isoformat()
    return str(value)


def sheet_rows(
    source: str | os.PathLike[str] | IO[bytes], sheet: str | None, name: str
) -> Iterator[tuple[int, list[Any]]]:
    """``(spreadsheet row number, cells)`` for every row of `sheet` (default: the first).

    Empty rows are yielded too (as empty lists), so numbers never skip.
    """
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    target: str | os.PathLike[str] | IO[bytes] = source
    if not isinstance(source, str | os.PathLike):
        target = io.BytesIO(source.read())
    elif Path(source).suffix.lower() == ".xls":
        raise WorkbookError(f"{name}: an .xls (Excel 97-2003) workbook; save it as .xlsx or CSV")
    try:
        workbook = load_workbook(target, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise WorkbookError(f"{name}: not a readable .xlsx workbook ({exc})") from None
    try:
        if sheet is None:
            worksheet = workbook.worksheets[0]
        elif sheet in workbook.sheetnames:
            worksheet = workbook[sheet]
        else:
            names = ", ".join(repr(s) for s in workbook.sheetnames)
            raise WorkbookError(f"{name}: no sheet named {sheet!r}; the workbook has {names}")
        if not hasattr(worksheet, "iter_rows"):
            raise WorkbookError(f"{name}: sheet {worksheet.title!r} is a chart, not a table")
        # A workbook may state a wrong size; read what is there instead.
        worksheet.reset_dimensions()
        for number, values in enumerate(worksheet.iter_rows(min_row=1, values_only=True), 1):
            yield number, [_cell(v) for v in values]
    finally:
        workbook.close()

"""Column mapping: an export's headers to the input contract's fields, as a YAML file.

    # mapping.yaml
    columns:              # contract field: the export's header
      account_id: Record ID
      owner: Company owner
    constants:            # one value for every row: for a file without the column
      segment: smb
    date_format: "%m/%d/%Y"   # optional reading settings, as the command-line
    decimal: point            # options (which win over the file)
    delimiter: semicolon
    encoding: latin-1
    sheet: Companies

`load_mapping` reads such a file into `skill.dialect.ReadOptions`; `propose`
reads an input's header and proposes one (`account-health columns FILE`): the
contract's own names, the spellings the reader already accepts, and the usual
Salesforce and HubSpot report headers, each said which; every header it cannot
place is listed, for a person to map or leave out.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from skill.dialect import DialectError, ReadOptions
from skill.ingest import ALIASES, normalise_name
from skill.record import INPUT_FIELDS, AccountRecord

__all__ = [
    "CRM_HEADERS",
    "MappingError",
    "Proposal",
    "load_mapping",
    "propose",
    "render_json",
    "render_yaml",
]

_SETTINGS = ("date_format", "decimal", "delimiter", "encoding", "sheet")
_KEYS = ("columns", "constants", *_SETTINGS)

_REVENUE_NOTE = (
    "check: in Salesforce and HubSpot this is often the company's own revenue, not what it pays you"
)

#: Salesforce and HubSpot report headers (normalised) and the field each usually means.
#: Only proposed by `account-health columns`, never read without a mapping: the same
#: header can mean something else in another report.
CRM_HEADERS: dict[str, tuple[str, str]] = {
    "record_id": ("account_id", "HubSpot record id"),
    "company_id": ("account_id", "HubSpot company id"),
    "account_id_18": ("account_id", "Salesforce 18-character id"),
    "company_owner": ("owner", "HubSpot owner"),
    "customer_success_manager": ("owner", "CRM report header"),
    "csm_owner": ("owner", "CRM report header"),
    "annual_revenue": ("arr", _REVENUE_NOTE),
    "arr_usd": ("arr", "CRM report header"),
    "next_renewal_date": ("renewal_date", "CRM report header"),
    "subscription_end_date": ("renewal_date", "CRM report header"),
    "contract_end": ("renewal_date", "Salesforce contract report header"),
    "end_date": ("renewal_date", "Salesforce contract report header; check it is the renewal"),
    "contract_term_months": ("contract_term", "Salesforce contract report header"),
    "primary_contact": ("contact_name", "CRM report header"),
    "primary_contact_email": ("contact_email", "CRM report header"),
    "email": ("contact_email", "CRM report header; check it is the customer's contact"),
    "number_of_open_tickets": ("open_tickets", "HubSpot report header"),
    "open_cases": ("open_tickets", "Salesforce case report header"),
    "nps": ("nps", "CRM report header"),
    "net_promoter_score": ("nps", "CRM report header"),
    "customer_satisfaction": ("csat", "CRM report header"),
}


class MappingError(Exception):
    """A column-mapping file cannot be used; the message names the file and the key."""


def load_mapping(
    path: str | os.PathLike[str], fields: Collection[str] = INPUT_FIELDS
) -> ReadOptions:
    """Read a column-mapping file; `MappingError` names each problem.

    `fields` are the names the file may map (the account contract by default;
    `outcomes import` passes its own).
    """
    name = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(f"{name}: no such file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise MappingError(f"{name}: not a readable YAML file ({exc})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise MappingError(f"{name}: expected a YAML mapping with columns: and constants:")
    problems = [
        f"unknown key {k!r} (expected one of: {', '.join(_KEYS)})" for k in data if k not in _KEYS
    ]
    columns = _section(data, "columns", fields, problems, header=True)
    constants = _section(data, "constants", fields, problems, header=False)
    problems += [
        f"{field}: both a column and a constant; keep one"
        for field in columns
        if field in constants
    ]
    settings: dict[str, str] = {}
    for key in _SETTINGS:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append(f"{key}: expected text, got {value!r}")
            continue
        settings[key] = value
    if problems:
        raise MappingError(f"{name}: " + "; ".join(problems))
    try:
        return ReadOptions(columns=columns, constants=constants, **settings)
    except DialectError as exc:
        raise MappingError(f"{name}: {exc}") from None


def _section(
    data: dict[str, Any], key: str, fields: Collection[str], problems: list[str], *, header: bool
) -> dict[str, str]:
    section = data.get(key) or {}
    if not isinstance(section, dict):
        problems.append(f"{key}: expected field: {'header' if header else 'value'} lines")
        return {}
    out: dict[str, str] = {}
    for field, value in section.items():
        if field not in fields:
            problems.append(f"{key}.{field}: not a field of the input contract")
        elif value is None or isinstance(value, dict | list):
            what = "a header name" if header else "one value"
            problems.append(f"{key}.{field}: expected {what}, got {value!r}")
        else:
            out[str(field)] = _scalar_text(value)
    return out


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- proposing a mapping --------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """A proposed mapping for one input's header."""

    source: str
    columns: list[tuple[str, str, str]]  # (field, header, why), in contract order
    unmatched: list[tuple[str, str]]  # (header, why not)
    missing_required: list[str]
    delimiter: str | None


def propose(headers: Sequence[str], source: str, delimiter: str | None = None) -> Proposal:
    """Each header's field, if the contract, a known spelling or a CRM report header says one."""
    chosen: dict[str, tuple[int, int, str, str]] = {}  # field -> (rank, index, header, why)
    unmatched: list[tuple[str, str]] = []
    for index, raw in enumerate(headers):
        header = str(raw).replace("\ufeff", "").strip()
        if not header:
            continue
        key = normalise_name(header)
        if key in INPUT_FIELDS:
            found = (0, key, "exact name")
        elif key in ALIASES:
            found = (1, ALIASES[key], "known spelling")
        elif key in CRM_HEADERS:
            field, why = CRM_HEADERS[key]
            found = (2, field, why)
        else:
            unmatched.append((header, "no field of the contract"))
            continue
        rank, field, why = found
        held = chosen.get(field)
        if held is None or (rank, index) < held[:2]:
            if held is not None:
                unmatched.append((held[2], f"{field} is taken by {header!r}"))
            chosen[field] = (rank, index, header, why)
        else:
            unmatched.append((header, f"{field} is taken by {held[2]!r}"))
    order = {f: i for i, f in enumerate(AccountRecord.model_fields)}
    columns = [(f, chosen[f][2], chosen[f][3]) for f in sorted(chosen, key=order.__getitem__)]
    required = [n for n, info in AccountRecord.model_fields.items() if info.is_required()]
    return Proposal(
        source=source,
        columns=columns,
        unmatched=unmatched,
        missing_required=[f for f in required if f not in chosen],
        delimiter=delimiter,
    )


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


def render_yaml(proposal: Proposal) -> str:
    """The proposal as a mapping file to edit and pass back with --columns."""
    lines = [
        f"# Column mapping proposed for {proposal.source} by `account-health columns`.",
        "# Check every line, then pass this file back:",
        f"#   account-health assess {proposal.source} --columns THIS-FILE.yaml",
        "# Each line under columns: is `contract field: header in the file`.",
        "columns:",
    ]
    width = max((len(f) + len(_quoted(h)) for f, h, _ in proposal.columns), default=0)
    for field, header, why in proposal.columns:
        entry = f"{field}: {_quoted(header)}"
        lines.append(f"  {entry.ljust(width + 2)}  # {why}")
    if not proposal.columns:
        lines[-1] = "columns: {}"
    lines.append("# One value for every row, for a field the file has no column for:")
    if proposal.missing_required:
        lines.append("constants:")
        lines.append("  # uncomment and set, or the file is refused for want of a required field")
        for field in proposal.missing_required:
            example = "smb" if field == "segment" else "VALUE"
            lines.append(
                f"  # {field}: {example}  # required, and no column found: set it or map one"
            )
    else:
        lines.append("constants: {}")
    if proposal.unmatched:
        lines.append("# Headers not mapped (ignored unless you map them above):")
        lines.extend(f"#   {_quoted(h)}: {why}" for h, why in proposal.unmatched)
    lines.append("# How the file writes dates and numbers (uncomment what applies):")
    lines.append('# date_format: "%m/%d/%Y"   # or "%d.%m.%Y", "%d/%m/%Y"; ISO dates need none')
    lines.append("# decimal: point            # or comma (45000,50)")
    if proposal.delimiter not in (None, ","):
        lines.append(f"delimiter: {_DELIMITER_NAMES[proposal.delimiter]}  # detected")
    lines.append("# encoding: latin-1         # if the file is not UTF-8")
    return "\n".join(lines) + "\n"


def render_json(proposal: Proposal) -> str:
    """The proposal as data: {"source", "columns", "constants_needed", "unmatched", ...}."""
    document = {
        "source": proposal.source,
        "columns": {f: h for f, h, _ in proposal.columns},
        "why": {f: why for f, _, why in proposal.columns},
        "missing_required": proposal.missing_required,
        "unmatched": [{"header": h, "reason": why} for h, why in proposal.unmatched],
        "delimiter": _DELIMITER_NAMES.get(proposal.delimiter or ""),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

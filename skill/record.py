"""The input contract: one account is one flat record.

A CSV column and a JSON key share a name, so a CRM export maps onto this by
renaming columns. Every signal is optional: absent means "not known", never zero.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from functools import lru_cache, partial
from itertools import compress
from operator import itemgetter
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import SchemaValidator

from skill.dialect import read_date, read_number

_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")


def _spelling_key(value: str) -> str:
    return _NOT_ALPHANUMERIC.sub("_", value.strip().lower()).strip("_")


class LenientEnum(StrEnum):
    """An enum that accepts the spellings CRM exports use: `Mid-market`, `mid market`."""

    @classmethod
    def _missing_(cls, value: object) -> LenientEnum | None:
        if isinstance(value, str):
            return _lenient_member(cls, value)
        return None

    @classmethod
    def _aliases(cls) -> dict[str, LenientEnum]:
        return {}


# A few spellings per enum recur on every row of an export; each is worked out once.
@lru_cache(maxsize=1024)
def _lenient_member(cls: type[LenientEnum], value: str) -> LenientEnum | None:
    key = _spelling_key(value)
    for member in cls:
        if member.value == key:
            return member
    return cls._aliases().get(key)


class Segment(LenientEnum):
    SMB = "smb"
    MID_MARKET = "mid_market"
    ENTERPRISE = "enterprise"

    @classmethod
    def _aliases(cls) -> dict[str, LenientEnum]:
        return {
            "midmarket": cls.MID_MARKET,
            "mm": cls.MID_MARKET,
            "mid": cls.MID_MARKET,
            "small_business": cls.SMB,
            "small_and_medium_business": cls.SMB,
            "ent": cls.ENTERPRISE,
        }


class Lifecycle(LenientEnum):
    ONBOARDING = "onboarding"
    ADOPTION = "adoption"
    ACTIVE = "active"
    RENEWAL = "renewal"


class PaymentStatus(LenientEnum):
    CURRENT = "current"
    OVERDUE = "overdue"
    FAILED = "failed"

    @classmethod
    def _aliases(cls) -> dict[str, LenientEnum]:
        return {"paid": cls.CURRENT, "ok": cls.CURRENT, "past_due": cls.OVERDUE}


class ContractTerm(LenientEnum):
    """How often the contract renews: its length, not how often it is invoiced."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ANNUAL = "annual"
    MULTI_YEAR = "multi_year"

    @classmethod
    def _aliases(cls) -> dict[str, LenientEnum]:
        return {
            "month": cls.MONTHLY,
            "month_to_month": cls.MONTHLY,
            "mtm": cls.MONTHLY,
            "m2m": cls.MONTHLY,
            "1_month": cls.MONTHLY,
            "quarter": cls.QUARTERLY,
            "3_months": cls.QUARTERLY,
            "annually": cls.ANNUAL,
            "yearly": cls.ANNUAL,
            "year": cls.ANNUAL,
            "1_year": cls.ANNUAL,
            "12_months": cls.ANNUAL,
            "multiyear": cls.MULTI_YEAR,
            "2_years": cls.MULTI_YEAR,
            "3_years": cls.MULTI_YEAR,
            "24_months": cls.MULTI_YEAR,
            "36_months": cls.MULTI_YEAR,
        }

    @property
    def label(self) -> str:
        """How evidence names it: "multi-year contract"."""
        return f"{self.value.replace('_', '-')} contract"


class Champion(LenientEnum):
    STRONG = "strong"
    WEAK = "weak"
    NONE = "none"
    DEPARTED = "departed"


class Blocker(LenientEnum):
    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"


_BLANKS = {"", "null", "none", "n/a", "na", "-"}
_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


def has_value(field: str, value: Any) -> bool:
    """Whether a raw input value for `field` is a value, not a blank (see the cleaners).

    For a first look at an input without validating it: `none` is a value of
    `champion` and `blocker`, a blank everywhere else.
    """
    if value is None:
        return False
    if not isinstance(value, str):
        return True
    key = value.strip().lower()
    if key == "none":
        return field in ("champion", "blocker")
    return key not in _BLANKS


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in _BLANKS:
        return None
    return value


# The cleaners below run on every present cell of every row, so each strips and
# lowers its text once rather than calling `_blank_to_none` first.


def _number(value: Any, info: ValidationInfo) -> Any:
    """Numbers as exports write them (`$84,000`, `45 000,50`), never guessed: see `skill.dialect`.

    The decimal mark comes from the validation context (`ReadOptions.context`).
    """
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return text
        if text.lower() in _BLANKS:
            return None
        context = info.context
        return read_number(text, context["decimal"] or None if context else None)
    return value


def _boolean(value: Any) -> Any:
    if isinstance(value, str):
        key = value.strip().lower()
        if key in _BLANKS:
            return None
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
    return value


_LIST_SEPARATORS = re.compile(r"[;|,\s]+")


_LIST_SEPARATORS_DECIMAL_COMMA = re.compile(r"[;|\s]+")


def _weekly_activity(value: Any, info: ValidationInfo) -> Any:
    """CSV cells carry lists as `42;55;61` or `[42, 55, 61]`; with a decimal comma, `42,5;55`."""
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in _BLANKS:
            return None
        context = info.context
        decimal = context["decimal"] or None if context else None
        if decimal == "comma":
            separators = _LIST_SEPARATORS_DECIMAL_COMMA
        elif "," in text and ("|" in text or ";" in text):
            raise ValueError(
                "ambiguous list: commas next to semicolons or bars; if the comma is a"
                " decimal mark, say so with --decimal comma"
            )
        else:
            separators = _LIST_SEPARATORS
        read = _READ_PARTS.get(decimal)
        if read is None:
            read = _READ_PARTS[decimal] = _remembering_reader(decimal)
        return [read(p) for p in separators.split(text.strip("[]")) if p]
    return value


# A week's activity is a percentage: the same few hundred texts recur in every list.
PARTS_REMEMBERED = 4096


def _remembering_reader(decimal: str | None) -> Callable[[str], str]:
    """`read_number(part, decimal)`, each answer kept (up to a bound); a refusal is not."""
    known: dict[str, str] = {}

    def read(part: str) -> str:
        number = known.get(part)
        if number is None:
            number = read_number(part, decimal)
            if len(known) < PARTS_REMEMBERED:
                known[part] = number
        return number

    return read


_READ_PARTS: dict[str | None, Callable[[str], str]] = {}


def _optional_enum(value: Any) -> Any:
    return _blank_to_none(value)


def _enum_with_none(value: Any) -> Any:
    """For enums with a `none` member (champion, blocker): `none` is a value, not a blank."""
    if isinstance(value, str):
        key = value.strip().lower()
        if key != "none" and key in _BLANKS:
            return None
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any, info: ValidationInfo) -> Any:
    """ISO 8601, or the context's `date_format`: a bare number must not become a Unix
    timestamp (`0` -> 1970-01-01), and `3/4/2027` is not read without a format."""
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in _BLANKS:
            return None
        context = info.context
        if context and context["date_format"]:
            parsed = read_date(text, context["date_format"])
            if not isinstance(parsed, str):
                return parsed
        if not _ISO_DATE.match(text):
            raise ValueError(
                "expected an ISO 8601 date (YYYY-MM-DD); for another format pass --date-format"
            )
        if len(text) > 10 and text[10] in "T ":
            return text[:10]
        return value
    if isinstance(value, bool | int | float):
        raise ValueError("expected an ISO 8601 date (YYYY-MM-DD), got a number")
    return value


# The bound sits on the number, not the union: a blank (None) must not meet `ge`.
Count = Annotated[Annotated[int, Field(ge=0)] | None, BeforeValidator(_number), Field(default=None)]
Money = Annotated[
    Annotated[float, Field(ge=0, allow_inf_nan=False)] | None,
    BeforeValidator(_number),
    Field(default=None),
]
Flag = Annotated[bool | None, BeforeValidator(_boolean), Field(default=None)]
Day = Annotated[date | None, BeforeValidator(_iso_date), Field(default=None)]
Text = Annotated[
    Annotated[str, Field(max_length=5000)] | None,
    BeforeValidator(_blank_to_none),
    Field(default=None),
]

# Free text past TEXT_LIMIT characters is cut there (the assessment says so); a
# cell past CELL_LIMIT bytes is no CRM note and the record is refused.
TEXT_LIMIT = 5000
CELL_LIMIT = 1_000_000
LONG_TEXT_FIELDS = ("notes", "blocker_note")


def _not_huge(value: Any) -> Any:
    if isinstance(value, str):
        size = len(value.encode("utf-8"))
        if size > CELL_LIMIT:
            raise ValueError(
                f"{size:,} bytes of text, more than the {CELL_LIMIT:,} a cell may hold; "
                "this is not a note"
            )
    return _blank_to_none(value)


FreeText = Annotated[
    Annotated[str, Field(max_length=TEXT_LIMIT)] | None,
    BeforeValidator(_not_huge),
    Field(default=None),
]


class AccountRecord(BaseModel):
    """One account's signals as of one date. Field names are the input contract."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    # identity
    account_id: str = Field(min_length=1, max_length=200, description="Stable account id.")
    name: Text = Field(default=None, description="Account name; defaults to account_id.")
    segment: Segment = Field(description="smb, mid_market or enterprise.")
    lifecycle: Annotated[Lifecycle | None, BeforeValidator(_optional_enum)] = Field(
        default=None, description="onboarding, adoption, active or renewal."
    )
    owner: Text = Field(default=None, description="Account owner (CSM) name.")
    contact_name: Annotated[str | None, BeforeValidator(_blank_to_none)] = Field(
        default=None, max_length=120, description="Customer contact for check-in emails."
    )
    contact_email: Annotated[str | None, BeforeValidator(_blank_to_none)] = Field(
        default=None,
        max_length=254,
        pattern=r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$",
        description="Customer contact's email address.",
    )
    arr: Money = Field(default=None, description="Annual recurring revenue, in currency units.")
    renewal_date: Day = Field(default=None, description="Contract renewal date (ISO 8601).")
    contract_term: Annotated[ContractTerm | None, BeforeValidator(_optional_enum)] = Field(
        default=None,
        description="How often the contract renews: monthly, quarterly, annual or multi_year.",
    )
    as_of: Day = Field(default=None, description="Date the signals describe (ISO 8601).")

    # usage
    active_users: Count = Field(default=None, description="Users active in the last 30 days.")
    licensed_seats: Count = Field(default=None, description="Seats under contract.")
    logins_30d: Count = Field(default=None, description="Logins in the last 30 days.")
    logins_prev_30d: Count = Field(default=None, description="Logins in the 30 days before.")
    weekly_activity: Annotated[
        Annotated[list[Annotated[float, Field(ge=0, le=100)]], Field(max_length=520)] | None,
        BeforeValidator(_weekly_activity),
    ] = Field(default=None, description="Weekly activity %, newest last.")

    # adoption
    features_adopted: Count = Field(default=None, description="Key features in use.")
    features_total: Count = Field(default=None, description="Key features available.")
    onboarding_milestones_done: Count = Field(default=None, description="Milestones done.")
    onboarding_milestones_total: Count = Field(default=None, description="Milestones planned.")

    # support
    open_tickets: Count = Field(default=None, description="Open support tickets.")
    tickets_30d: Count = Field(default=None, description="Tickets opened in the last 30 days.")
    tickets_prev_30d: Count = Field(default=None, description="Tickets opened the 30 days before.")
    escalations_90d: Count = Field(default=None, description="Escalations in the last 90 days.")
    sev1_open: Count = Field(default=None, description="Open severity-1 tickets.")

    # sentiment
    csat: Annotated[float | None, BeforeValidator(_number)] = Field(
        default=None, ge=1, le=5, description="CSAT score from 1 to 5."
    )
    nps: Annotated[float | None, BeforeValidator(_number)] = Field(
        default=None, ge=-100, le=100, description="Account NPS from -100 to 100."
    )
    nps_response: Annotated[float | None, BeforeValidator(_number)] = Field(
        default=None, ge=0, le=10, description="Latest NPS response from 0 to 10."
    )
    last_survey_date: Day = Field(default=None, description="Date of the latest survey.")

    # commercial
    payment_status: Annotated[PaymentStatus | None, BeforeValidator(_optional_enum)] = Field(
        default=None, description="current, overdue or failed."
    )
    days_overdue: Count = Field(default=None, description="Days the oldest invoice is overdue.")
    expansion_signal: Flag = Field(default=None, description="Expansion interest seen (bool).")
    discount_requested: Flag = Field(default=None, description="Customer asked for a discount.")

    # relationship
    last_exec_touch_date: Day = Field(default=None, description="Last executive engagement.")
    champion: Annotated[Champion | None, BeforeValidator(_enum_with_none)] = Field(
        default=None, description="strong, weak, none or departed."
    )
    last_customer_reply_date: Day = Field(default=None, description="Last customer reply.")
    qbr_attended: Flag = Field(default=None, description="Attended the last QBR (bool).")

    # outcomes
    success_milestones_missed: Count = Field(default=None, description="Success-plan misses.")
    success_milestones_total: Count = Field(default=None, description="Success-plan milestones.")

    # blockers and notes (untrusted free text)
    blocker: Annotated[Blocker | None, BeforeValidator(_enum_with_none)] = Field(
        default=None, description="none, minor or major."
    )
    blocker_note: FreeText = Field(
        default=None,
        description="Free text; untrusted data. Longer than 5,000 characters: cut there, noted.",
    )
    notes: FreeText = Field(
        default=None,
        description="Free text from the CRM; untrusted data. Longer than 5,000 characters: "
        "cut there, noted.",
    )

    _truncated: tuple[tuple[str, int], ...] = PrivateAttr(default=())

    @model_validator(mode="wrap")
    @classmethod
    def _cut_long_text(cls, data: Any, handler: Any) -> AccountRecord:
        """Cut notes past TEXT_LIMIT rather than lose the account; remember the length."""
        cut: list[tuple[str, int]] = []
        if isinstance(data, dict):
            for field in LONG_TEXT_FIELDS:
                value = data.get(field)
                if (
                    isinstance(value, str)
                    and len(value.strip()) > TEXT_LIMIT
                    and len(value.encode("utf-8")) <= CELL_LIMIT
                ):
                    text = value.strip()
                    cut.append((field, len(text)))
                    data = {**data, field: text[:TEXT_LIMIT]}
        record = handler(data)
        if cut:
            record._truncated = tuple(cut)
        return record

    @property
    def truncated(self) -> tuple[tuple[str, int], ...]:
        """(field, original length) of each free-text field cut to TEXT_LIMIT."""
        return truncated_of(self)

    # sources (absent means not connected)
    crm_synced_at: Day = Field(default=None, description="Last CRM sync (absent: not connected).")
    support_synced_at: Day = Field(default=None, description="Last support-platform sync.")
    product_synced_at: Day = Field(default=None, description="Last product-analytics sync.")

    @field_validator("account_id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("segment", mode="before")
    @classmethod
    def _segment_required(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @property
    def display_name(self) -> str:
        return self.name or self.account_id


INPUT_FIELDS: frozenset[str] = frozenset(AccountRecord.model_fields)
# Where pydantic keeps a model's field values and its private attributes, read without
# the model's attribute hook (which every attribute read of a model goes through).
_private_of = BaseModel.__dict__["__pydantic_private__"].__get__
values_of: Callable[[AccountRecord], dict[str, Any]] = BaseModel.__dict__["__dict__"].__get__


def truncated_of(record: AccountRecord) -> tuple[tuple[str, int], ...]:
    """`record.truncated`, for loops that ask it of every record."""
    private = _private_of(record)
    return private["_truncated"] if private else ()


class _Info:
    """What a cleaner reads of pydantic's ValidationInfo: the context (decimal, date format)."""

    __slots__ = ("context",)

    def __init__(self, context: dict[str, Any] | None) -> None:
        self.context = context


def _field_schemas(
    schema: dict[str, Any],
) -> dict[str, tuple[Callable[..., Any], bool, dict[str, Any]]] | None:
    """Each AccountRecord field's cleaner (its before-validator), whether the cleaner
    reads the context, and the field's own type-and-bounds schema without it.

    None when the schema is not the shape this expects (the fast path is then off).
    """
    if schema.get("type") != "function-wrap" or schema["schema"].get("type") != "model":
        return None
    model = copy.deepcopy(schema["schema"])
    if model.get("post_init") != "model_post_init" or _private_defaults() is None:
        return None
    found: dict[str, tuple[Callable[..., Any], bool, dict[str, Any]]] = {}
    for name, field in model["schema"]["fields"].items():
        inner = field["schema"]
        if inner["type"] == "default":
            if inner.get("default") is not None or set(inner) - {"type", "schema", "default"}:
                return None  # only a default of None is what a record without the field holds
            inner = inner["schema"]
        if inner["type"] != "function-before":
            return None
        function = inner["function"]
        found[name] = (function["function"], function["type"] == "with-info", inner["schema"])
    if "function-" in repr([schema for _, _, schema in found.values()]):
        return None  # a validator this does not take out: only the full path is safe
    if model["schema"].get("model_validators") or model["schema"].get("computed_fields"):
        return None
    return found


def _private_defaults() -> dict[str, Any] | None:
    """AccountRecord's private attributes with their defaults, when all are immutable
    (so one shared value is what a fresh copy per record would be); else None."""
    defaults = {}
    for name, attribute in AccountRecord.__private_attributes__.items():
        default = attribute.default
        if attribute.default_factory is not None or not isinstance(default, tuple | str | int):
            return None
        defaults[name] = default
    return defaults


_REQUIRED = frozenset(
    name for name, info in AccountRecord.model_fields.items() if info.is_required()
)
_FIELD_SCHEMAS = _field_schemas(AccountRecord.__pydantic_core_schema__)  # type: ignore[arg-type]
# Validated values by field and raw text; bounded per field so memory stays flat.
CLEANED_PER_FIELD = 2048


class NotPlain(Exception):
    """A value the fast path leaves to the full validation (a note to cut, say)."""


_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
_new_record = partial(object.__new__, AccountRecord)
_look_up = dict.__getitem__  # on a `Known`: the value, worked out if not known yet
_VALIDATORS: dict[str, SchemaValidator] = {}


def _validators() -> dict[str, SchemaValidator]:
    """Each field's type-and-bounds validator, built once (building them takes milliseconds)."""
    if not _VALIDATORS and _FIELD_SCHEMAS is not None:
        config = AccountRecord.__pydantic_core_schema__["schema"].get("config")  # type: ignore[index]
        for name, (_, _, schema) in _FIELD_SCHEMAS.items():
            _VALIDATORS[name] = SchemaValidator(schema, config)  # type: ignore[arg-type]
    return _VALIDATORS


class Known(dict[str, Any]):
    """One field's validated values by raw text. A text not seen yet is worked out when
    asked for (`dict.__getitem__`) and kept while there is room; working it out raises
    when the value is not plainly valid (the full validation then says why).

    The subclasses below read a field's usual texts directly, each where that is known
    to give exactly what the field's cleaner and schema give (tests/test_record.py
    compares them on thousands of values); any other text goes through `convert`, the
    cleaner and the field's part of the schema.
    """

    __slots__ = ("convert",)

    def __init__(self, convert: Callable[[str], Any]) -> None:
        super().__init__()
        self.convert = convert

    def __missing__(self, text: str) -> Any:
        if type(text) is not str:
            return self.convert(text)  # a JSON number, say: worked out, never kept
        value = self.convert(text)
        if len(self) < CLEANED_PER_FIELD:
            self[text] = value
        return value


class _KnownText(Known):
    """Free text: plain ASCII, nothing to strip, is itself (a blank word is None)."""

    __slots__ = ("blank_is_none", "longest")

    def __init__(self, convert: Callable[[str], Any], longest: int, blank_is_none: bool) -> None:
        super().__init__(convert)
        self.longest = longest
        self.blank_is_none = blank_is_none

    def __missing__(self, text: str) -> Any:
        if type(text) is not str:
            return self.convert(text)  # a JSON number, say: worked out, never kept
        if (
            text.isascii()
            and text.isprintable()
            and text[:1] not in _EDGE
            and text[-1] != " "
            and len(text) <= self.longest
        ):
            value = None if self.blank_is_none and text.lower() in _BLANKS else text
        else:
            value = self.convert(text)
        if len(self) < CLEANED_PER_FIELD:
            self[text] = value
        return value


class _KnownEmail(Known):
    """An address: plain ASCII of the usual shape, nothing to strip, is itself."""

    __slots__ = ()

    def __missing__(self, text: str) -> Any:
        if type(text) is not str:
            return self.convert(text)  # a JSON number, say: worked out, never kept
        # The schema's pattern (`_EMAIL_PATTERN`) read for printable ASCII, where the
        # only whitespace is the space: one @, something before it, and a dot with
        # something on each side after it. No blank word has an @.
        value = _NOT_READ
        if (
            text.isascii()
            and text.isprintable()
            and " " not in text
            and "<" not in text
            and ">" not in text
            and len(text) <= 254
            and text.count("@") == 1
        ):
            local, _, domain = text.partition("@")
            if local and "." in domain[1:-1]:
                value = text
        if value is _NOT_READ:
            value = self.convert(text)
        if len(self) < CLEANED_PER_FIELD:
            self[text] = value
        return value


class _KnownCount(Known):
    """A count: plain digits are the number."""

    __slots__ = ()

    def __missing__(self, text: str) -> Any:
        if type(text) is not str:
            return self.convert(text)  # a JSON number, say: worked out, never kept
        if text.isascii() and text.isdigit() and len(text) <= 15:
            value = int(text)
        else:
            value = self.convert(text)
        if len(self) < CLEANED_PER_FIELD:
            self[text] = value
        return value


class _KnownNumber(Known):
    """A number kept as a float: whole numbers (`47`, `-40`) are read directly, and, when
    the decimal mark is a point or not given, US-style amounts (`$84,000.00`: groups of
    three and a decimal point, nothing ambiguous about it)."""

    __slots__ = ("grouped", "highest", "lowest")

    def __init__(
        self, convert: Callable[[str], Any], lowest: float, highest: float, grouped: bool
    ) -> None:
        super().__init__(convert)
        self.lowest = lowest
        self.highest = highest
        self.grouped = grouped

    def __missing__(self, text: str) -> Any:
        if type(text) is not str:
            return self.convert(text)  # a JSON number, say: worked out, never kept
        value = None
        if _WHOLE.fullmatch(text):
            value = float(text)
        elif self.grouped and _GROUPED_AMOUNT.fullmatch(text):
            value = float(text.lstrip("$").replace(",", ""))
        if value is None or not self.lowest <= value <= self.highest:
            value = self.convert(text)
        if len(self) < CLEANED_PER_FIELD:
            self[text] = value
        return value


class _KnownDay(Known):
    """A date, read without a date format: `2026-11-20` is that day."""

    __slots__ = ()

    def __missing__(self, text: str) -> Any:
        if type(text) is not str:
            return self.convert(text)  # a JSON number, say: worked out, never kept
        value = None
        if _ISO_DAY.fullmatch(text):
            try:
                value = date(int(text[:4]), int(text[5:7]), int(text[8:]))
            except ValueError:
                value = None  # no such day: the schema's own message says so
        if value is None:
            value = self.convert(text)
        if len(self) < CLEANED_PER_FIELD:
            self[text] = value
        return value


class _Activity(Known):
    """Weekly activity, a list: worked out for every record (a list is mutable, so no
    two records share one); `42;55;61`, whole percentages, is read directly."""

    __slots__ = ()

    def __missing__(self, text: str) -> Any:
        if type(text) is not str:
            return self.convert(text)  # a JSON number, say: worked out, never kept
        parts = text.split(";")
        if len(parts) <= 520:
            try:
                return list(map(_PERCENT, parts))
            except NotPlain:
                pass
        value = self.convert(text)
        if value is None and len(self) < CLEANED_PER_FIELD:
            self[text] = value  # a blank: None is no list, so it can be shared
        return value


class _Percentages(dict[str, float]):
    """A week's activity by its text: whole percentages (`55`), worked out once each."""

    def __missing__(self, part: str) -> float:
        if part.isascii() and part.isdigit():
            value = float(part)
            if value <= 100:
                if len(self) < PARTS_REMEMBERED:
                    self[part] = value
                return value
        raise NotPlain


_PERCENT = _Percentages().__getitem__
# Text with none of these at its ends has nothing any reading of whitespace strips:
# ASCII and printable leaves only the space (and "" has no ends to look at).
_EDGE = frozenset({"", " "})
_EMAIL_PATTERN = r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$"
_NOT_READ = object()
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WHOLE = re.compile(r"-?[0-9]{1,15}")
_GROUPED_AMOUNT = re.compile(r"\$?[1-9][0-9]{0,2}(?:,[0-9]{3}){1,4}\.[0-9]{1,6}")


def _known(
    name: str, clean: Callable[..., Any], schema: dict[str, Any], context: dict[str, Any] | None
) -> Callable[[Callable[[str], Any]], Known]:
    """How to remember a field's values: the `Known` kind that reads its usual texts
    directly, for the cleaner and schema pairs where that is known to be exact."""
    function = getattr(clean, "__func__", clean)
    shape = _shape(schema)
    if function is AccountRecord._id_as_text.__func__ and shape == {
        "type": "str",
        "min_length": 1,
        "max_length": 200,
    }:
        return partial(_KnownText, longest=200, blank_is_none=False)
    if function in (_blank_to_none, _not_huge):
        inner = shape.get("schema", {})
        if (
            shape.get("type") == "nullable"
            and set(inner) == {"type", "max_length"}
            and inner["type"] == "str"
            and inner["max_length"] <= TEXT_LIMIT
        ):
            return partial(_KnownText, longest=inner["max_length"], blank_is_none=True)
        if shape == _nullable({"type": "str", "max_length": 254, "pattern": _EMAIL_PATTERN}):
            return _KnownEmail
    if function is _number:
        if shape == _nullable({"type": "int", "ge": 0}):
            return _KnownCount
        inner = shape.get("schema", {})
        if (
            shape.get("type") == "nullable"
            and inner.get("type") == "float"
            and set(inner) <= {"type", "ge", "le", "allow_inf_nan"}
        ):
            grouped = not (context and context["decimal"] == "comma")
            lowest, highest = inner.get("ge", -math.inf), inner.get("le", math.inf)
            return partial(_KnownNumber, lowest=lowest, highest=highest, grouped=grouped)
    without_format = not (context and context["date_format"])
    if function is _iso_date and shape == _nullable({"type": "date"}) and without_format:
        return _KnownDay
    if function is _weekly_activity and shape == _nullable(
        {"type": "list", "items_schema": {"type": "float", "ge": 0, "le": 100}, "max_length": 520}
    ):
        return _Activity
    return Known


def _shape(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema without its metadata, inner schemas alike (for comparing shapes)."""
    return {
        key: _shape(value) if isinstance(value, dict) else value
        for key, value in schema.items()
        if key != "metadata"
    }


def _nullable(inner: dict[str, Any]) -> dict[str, Any]:
    return {"type": "nullable", "schema": inner}


class RecordValidator:
    """`AccountRecord.model_validate` (with `context`), made faster for the usual record.

    Validation is each field's cleaner (`_number`, `_iso_date` ...) then its type and
    bounds, field by field: no field's value depends on another's. Here each field's
    value is worked out the same way, by the same cleaner and the field's own part of
    the model's schema, and remembered by field and raw text (the segment `SMB`, the
    date `2026-11-20`, the count `3` recur on every row of an export); the record is
    then put together from those values as validation would (field order, defaults,
    the fields given). Any record that is not plainly valid this way (a cleaner
    refuses a value, a bound fails, a note too long to keep whole, anything
    unexpected) is validated the full way, so its record, or its error and message,
    is exactly what `model_validate` gives.

    Call it with a record's raw values by field (a JSON object, a CSV row by
    header); `for_columns` gives the faster form for CSV rows as lists of cells.
    """

    def __init__(self, context: dict[str, Any] | None = None) -> None:
        full = AccountRecord.model_validate
        self.slow: Callable[[Any], AccountRecord] = (
            full if context is None else partial(full, context=context)
        )
        self.known: dict[str, Known] = {}
        self.convert: dict[str, Callable[[Any], Any]] = {}
        if _FIELD_SCHEMAS is None:
            return
        validators = _validators()
        info = _Info(context)
        for name, (clean, with_info, schema) in _FIELD_SCHEMAS.items():
            convert = _converter(
                name, _with_context(clean, info) if with_info else clean, validators[name]
            )
            if name in _REQUIRED:
                convert = _refusing_empty(convert)
            self.convert[name] = convert
            self.known[name] = _known(name, clean, schema, context)(convert)
        self._private = _private_defaults()
        self._template = dict.fromkeys(AccountRecord.model_fields)

    def __call__(self, data: Any) -> AccountRecord:
        if not self.known or not isinstance(data, dict):
            return self.slow(data)
        try:
            tables = list(map(self.known.__getitem__, data))
        except KeyError:
            return self._by_field(data)  # a key that is no field
        values = self._template.copy()
        try:
            values.update(zip(data, map(_look_up, tables, data.values()), strict=False))
        except TypeError:
            return self._by_field(data)  # a value that cannot be looked up (a list)
        except Exception:  # any doubt: the full path gives the record or the exact error
            return self.slow(data)
        given = set(data)
        if not given >= _REQUIRED:
            return self.slow(data)  # a required field is missing: its error
        return self._record(values, given)

    def _by_field(self, data: dict[Any, Any]) -> AccountRecord:
        """`self(data)` a field at a time: for keys that are no field (ignored, as the
        full schema does) and values that are not text."""
        known = self.known
        try:
            values = self._template.copy()
            given = set()
            for name, value in data.items():
                remembered = known.get(name)
                if remembered is None:
                    continue
                if type(value) is str:
                    values[name] = remembered[value]
                else:
                    values[name] = self.convert[name](value)
                given.add(name)
            if not given >= _REQUIRED:
                return self.slow(data)
            return self._record(values, given)
        except Exception:
            return self.slow(data)

    def _record(self, values: dict[str, Any], given: set[str]) -> AccountRecord:
        """The record validation would make of these values (trusted: already validated)."""
        record = _new_record()
        _set_dict(record, values)
        _set_fields_set(record, given)
        _set_extra(record, None)
        _set_private(record, self._private.copy())  # type: ignore[union-attr]
        return record

    def for_columns(
        self, fields: tuple[str | None, ...]
    ) -> Callable[[list[str]], AccountRecord | None] | None:
        """For CSV rows whose cells map to `fields` (None: a column ignored): the record
        a row's non-empty cells make, or None when the row is not plainly valid (then
        validate it by field). None when no such shortcut can be made."""
        used = [(i, f) for i, f in enumerate(fields) if f is not None]
        names = tuple(f for _, f in used)
        if not self.known or not set(names) >= _REQUIRED or len(set(names)) != len(names):
            return None  # a column for each required field, one for each field at most
        width = len(fields)
        pick = None if len(used) == width else itemgetter(*(i for i, _ in used))
        known = [self.known[f] for f in names]
        template = self._template
        private = self._private
        assert private is not None
        look_up = _look_up

        def record_of(cells: list[str]) -> AccountRecord | None:
            if len(cells) != width:
                return None
            picked = cells if pick is None else pick(cells)
            values = template.copy()
            try:
                values.update(zip(names, map(look_up, known, picked), strict=False))
            except Exception:
                return None
            record = _new_record()
            _set_dict(record, values)
            _set_fields_set(record, set(compress(names, picked)))
            _set_extra(record, None)
            _set_private(record, private.copy())
            return record

        return record_of


def _refusing_empty(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A required field's converter: an empty CSV cell is no value, whatever the field's
    schema would make of the text "" (validation says the field is missing)."""

    def required(value: Any) -> Any:
        if value == "":
            raise NotPlain
        return convert(value)

    return required


def _with_context(clean: Callable[[Any, Any], Any], info: _Info) -> Callable[[Any], Any]:
    def cleaned(value: Any) -> Any:
        return clean(value, info)

    return cleaned


def _converter(
    name: str, clean: Callable[[Any], Any], validator: SchemaValidator
) -> Callable[[Any], Any]:
    """A field's raw value -> its validated value: its cleaner, then its part of the
    schema. Raises when the value is not plainly valid, a note too long included."""
    check = validator.validate_python
    if name not in LONG_TEXT_FIELDS:

        def convert(value: Any) -> Any:
            return check(clean(value))

        return convert

    def convert_text(value: Any) -> Any:
        if isinstance(value, str) and len(value.strip()) > TEXT_LIMIT:
            raise NotPlain  # cut to the limit: the full path does it and says so
        return check(clean(value))

    return convert_text


def record_validator(context: dict[str, Any] | None = None) -> RecordValidator:
    """`AccountRecord.model_validate` with `context`, made faster (see `RecordValidator`)."""
    return RecordValidator(context)

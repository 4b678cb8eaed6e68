"""The input contract: one account is one flat record.

A CSV column and a JSON key share a name, so a CRM export maps onto this by
renaming columns. Every signal is optional: absent means "not known", never zero.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import date
from enum import Enum, StrEnum
from functools import lru_cache, partial
from typing import Annotated, Any, get_args

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
        private = self.__pydantic_private__  # read directly: this is asked of every record
        return private["_truncated"] if private else ()

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


class _Info:
    """What a cleaner reads of pydantic's ValidationInfo: the context (decimal, date format)."""

    __slots__ = ("context",)

    def __init__(self, context: dict[str, Any] | None) -> None:
        self.context = context


def _without_cleaners(
    schema: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, tuple[Callable[..., Any], bool]]] | None:
    """AccountRecord's validation schema with each field's cleaner (its before-validator)
    taken out, and the cleaners by field (with whether each reads the context).

    None when the schema is not the shape this expects (the fast path is then off).
    """
    if schema.get("type") != "function-wrap" or schema["schema"].get("type") != "model":
        return None
    model = copy.deepcopy(schema["schema"])
    cleaners: dict[str, tuple[Callable[..., Any], bool]] = {}
    for name, field in model["schema"]["fields"].items():
        holder = field
        inner = field["schema"]
        if inner["type"] == "default":
            holder, inner = inner, inner["schema"]
        if inner["type"] != "function-before":
            return None
        function = inner["function"]
        cleaners[name] = (function["function"], function["type"] == "with-info")
        holder["schema"] = inner["schema"]
    if "function-" in repr(model["schema"]["fields"]):
        return None  # a validator this does not take out: only the full path is safe
    # The private attributes' defaults are set after validation (`_private_defaults`)
    # instead of by a call back into Python per record.
    if model.get("post_init") != "model_post_init" or _private_defaults() is None:
        return None
    del model["post_init"]
    return model, cleaners


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


_FAST = _without_cleaners(AccountRecord.__pydantic_core_schema__)  # type: ignore[arg-type]
# Cleaned values by field and raw text; bounded per field so memory stays flat.
CLEANED_PER_FIELD = 2048


def record_validator(context: dict[str, Any] | None = None) -> Callable[[Any], AccountRecord]:
    """`AccountRecord.model_validate` (with `context`), made faster for the usual record.

    Validation is each field's cleaner (`_number`, `_iso_date` ...) then its type and
    bounds. Here the same cleaners run in Python, their results remembered by field and
    text (the segment `SMB`, the date `2026-11-20`, the count `3` recur on every row of
    an export), and the same type-and-bounds schema checks the cleaned values. Any
    record that is not plainly valid this way (a cleaner refuses a value, a bound fails,
    a note too long to keep whole, anything unexpected) is validated the full way, so
    its record, or its error and message, is exactly what `model_validate` gives.
    """
    full = AccountRecord.model_validate
    slow = full if context is None else partial(full, context=context)
    if _FAST is None:
        return slow
    schema, cleaners = _FAST
    checker = _checker(schema)
    info = _Info(context)
    private = _private_defaults()
    set_private = BaseModel.__dict__["__pydantic_private__"].__set__
    table = {
        name: (clean, with_info, {}, _enum_of(AccountRecord.model_fields[name].annotation))
        for name, (clean, with_info) in cleaners.items()
    }

    def validate(data: Any) -> AccountRecord:
        if not isinstance(data, dict):
            return slow(data)
        try:
            cleaned = {}
            for name, value in data.items():
                entry = table.get(name)
                if entry is None:
                    continue  # not a field: ignored, as the full schema does
                clean, with_info, known, member_of = entry
                if type(value) is str:
                    result = known.get(value, _UNKNOWN)
                    if result is _UNKNOWN:
                        if name in LONG_TEXT_FIELDS and len(value.strip()) > TEXT_LIMIT:
                            return slow(data)  # cut to the limit: the full path does it
                        result = clean(value, info) if with_info else clean(value)
                        if member_of is not None and result is not None:
                            result = member_of(result)  # what the schema would look up
                        if len(known) < CLEANED_PER_FIELD:
                            known[value] = result
                else:
                    result = clean(value, info) if with_info else clean(value)
                    if member_of is not None and result is not None:
                        result = member_of(result)
                cleaned[name] = result
            record = checker.validate_python(cleaned, context=context)
            set_private(record, dict(private))
            return record
        except Exception:  # any doubt: the full path gives the record or the exact error
            return slow(data)

    return validate


_UNKNOWN = object()


def _enum_of(annotation: Any) -> type[Enum] | None:
    """The enum a field holds (`Segment`, `Lifecycle | None`), else None.

    The fast path hands the schema the member itself, remembered with the cleaned
    text: the schema takes a member as it is, where it would call the enum (and its
    lenient lookup of other spellings) on every row.
    """
    held = [
        kind
        for kind in (get_args(annotation) or (annotation,))
        if isinstance(kind, type) and issubclass(kind, Enum)
    ]
    return held[0] if len(held) == 1 else None


_CHECKER: list[SchemaValidator] = []


def _checker(schema: dict[str, Any]) -> SchemaValidator:
    """The type-and-bounds validator, built once (building it takes milliseconds)."""
    if not _CHECKER:
        config = AccountRecord.__pydantic_core_schema__.get("config")  # type: ignore[union-attr]
        _CHECKER.append(SchemaValidator(schema, config))  # type: ignore[arg-type]
    return _CHECKER[0]

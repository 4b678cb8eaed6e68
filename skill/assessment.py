"""The engine's output contract. Frozen: these are decisions, not drafts."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from datetime import date
from enum import Enum
from operator import attrgetter, itemgetter
from typing import Any, TypeVar, get_args

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from skill.ingest import Rejection
from skill.record import ContractTerm, Lifecycle, Segment
from skill.vocabulary import (
    ActionKind,
    ActionPurpose,
    ActionStatus,
    AutomationLevel,
    Band,
    Confidence,
    Dimension,
    GateLayer,
    OpportunityCode,
    Priority,
    RiskFlagCode,
    Sensitivity,
    Severity,
    Source,
    Tier,
)

SCHEMA_VERSION = "1.0"

M = TypeVar("M", bound=BaseModel)
_IMMUTABLE_DEFAULTS = (type(None), bool, int, float, str, tuple, frozenset, date)


def trusted(model: type[M]) -> Callable[..., M]:
    """A constructor for `model` that skips validation: for values already of the field types.

    The engine builds every output value itself, to the types these models declare,
    so validating them again per account only costs time. The result is the instance
    validation would give (its fields in declaration order, so its JSON is the same);
    tests compare the two on thousands of generated accounts. Arguments by keyword, or
    by position in field order; a field left out takes its default (a fresh copy of a
    mutable one). Use the model's own constructor for anything read from outside the
    engine.
    """
    made = _TRUSTED.get(model)
    if made is None:
        made = _TRUSTED[model] = _make_trusted(model)
    return made


_TRUSTED: dict[type, Callable[..., Any]] = {}
_MISSING = object()


def _slot_setters(model: type[BaseModel]) -> dict[str, Callable[[Any, Any], None]]:
    """The setters of the instance's `__dict__` and pydantic's three slots: what
    `object.__setattr__` would call (the descriptors `model` inherits), called directly,
    which skips its per-call check of the type."""

    def setter(name: str) -> Callable[[Any, Any], None]:
        owner = next(k for k in model.__mro__ if name in vars(k))
        return vars(owner)[name].__set__  # type: ignore[no-any-return]

    return {
        "_set_dict": setter("__dict__"),
        "_set_fields_set": setter("__pydantic_fields_set__"),
        "_set_extra": setter("__pydantic_extra__"),
        "_set_private": setter("__pydantic_private__"),
    }


def _make_trusted(model: type[M]) -> Callable[..., M]:
    return _make_constructor(model, None)


def _make_constructor(model: type[M], as_plain: type[Plain] | None) -> Callable[..., M]:
    """The constructor `trusted` (as_plain None) or `plain` (as_plain: its class) hands out."""
    fields = model.model_fields
    if model.model_config.get("extra") == "allow" or model.__private_attributes__:
        raise TypeError(f"{model.__name__}: trusted construction needs no extras or private state")
    namespace: dict[str, Any] = {
        "_new": object.__new__,
        "_model": model,
        "_fields_set": set(fields),
        "_MISSING": _MISSING,
        **_slot_setters(model),
    }
    params, body = [], []
    for name, info in fields.items():
        if not name.isidentifier() or name.startswith("_"):
            raise TypeError(f"{model.__name__}.{name}: not a plain field name")
        if info.is_required():
            params.append(name)
        elif info.default_factory is None and isinstance(info.default, _IMMUTABLE_DEFAULTS):
            namespace[f"_default_{name}"] = info.default
            params.append(f"{name}=_default_{name}")
        else:
            namespace[f"_info_{name}"] = info
            params.append(f"{name}=_MISSING")
            body.append(
                f"    if {name} is _MISSING:\n"
                f"        {name} = _info_{name}.get_default(call_default_factory=True, "
                "validated_data=None)\n"
                f"        {name} = _copy({name})"
            )
    namespace["_copy"] = copy.deepcopy
    required = [info.is_required() for info in fields.values()]
    if any(required[i + 1 :] and any(required[i + 1 :]) for i, r in enumerate(required) if not r):
        # A field with a default before one without: from there on, keywords only.
        first_default = required.index(False)
        params.insert(first_default, "*")
    values = ", ".join(f"{name!r}: {name}" for name in fields)
    if as_plain is not None:
        namespace["_plain"] = as_plain
        made_lines = [f"    return _plain({{{values}}})"]
    else:
        made_lines = [
            "    made = _new(_model)",
            f"    _set_dict(made, {{{values}}})",
            "    _set_fields_set(made, _fields_set)",
            "    _set_extra(made, None)",
            "    _set_private(made, None)",
            "    return made",
        ]
    name = f"{'plain' if as_plain else 'trusted'}_{model.__name__}"
    source = f"def {name}({', '.join(params)}):\n" + "".join(
        line + "\n" for line in body + made_lines
    )
    exec(source, namespace)  # generated from the model's own field names, nothing else
    return namespace[name]


class Plain(dict):  # type: ignore[type-arg]
    """An output model's values as a dict in field order, read by attribute like the model.

    What the engine builds instead of the model when the assessment only goes on to be
    written as JSON (`Engine(plain_output=True)`: the jsonl and json outputs): a dict
    costs a fraction of a model to make, and orjson writes it without a call back into
    Python. Its JSON is the model's (tests compare the two on thousands of generated
    accounts at every level). Not part of any published contract: read it, never change
    it (pieces are shared between accounts, as the models are). Two differences from the
    models, both in what nobody reads: some enum fields hold their value, a plain str
    (`held_value`), and on compact output some pieces are held as their JSON
    (`written_once`); `to_model` undoes both.
    """

    __slots__ = ()
    model: type[BaseModel]


_PLAIN_CLASSES: dict[type, type[Plain]] = {}


def plain_class(model: type[BaseModel]) -> type[Plain]:
    """The `Plain` class standing in for `model`: each field a read-only attribute."""
    made = _PLAIN_CLASSES.get(model)
    if made is None:
        trusted(model)  # the same checks of the model
        namespace: dict[str, Any] = {"__slots__": (), "model": model}
        namespace |= {name: property(itemgetter(name)) for name in model.model_fields}
        made = _PLAIN_CLASSES[model] = type(f"Plain{model.__name__}", (Plain,), namespace)
    return made


def plain(model: type[M]) -> Callable[..., M]:
    """`trusted(model)` making a `Plain` of the same values, not the model: the same
    arguments, defaults and field order."""
    made = _PLAIN_MAKERS.get(model)
    if made is None:
        made = _PLAIN_MAKERS[model] = _make_constructor(model, plain_class(model))
    return made


_PLAIN_MAKERS: dict[type, Callable[..., Any]] = {}


def written_once(make: Maker) -> Callable[[Any], Any]:
    """How a piece that repeats from account to account (an evidence line, a legacy row,
    a gate decision) is held once it is remembered: a model as it is; a `Plain` as its
    JSON, an `orjson.Fragment`, which orjson copies into each account's text instead of
    writing the piece again (a third of the time it spent on an assessment). Such a
    piece is only written, never read by attribute; `to_model` reads it back into its
    model. For output written as compact JSON (`Engine(compact_output=True)`): orjson
    never indents a fragment, so `to_json` indents such an assessment by reading its
    compact text back, three times the cost of writing it indented.

    Only for a piece made once and held by many accounts: making the fragment costs more
    than writing the piece once. A piece orjson cannot write stays as it is."""
    return _as_fragment if make is plain else as_is


def _as_fragment(piece: Any) -> Any:
    try:
        text = orjson.dumps(piece)
    except TypeError:  # orjson.JSONEncodeError (an integer past 64 bits): pydantic writes it
        return piece
    # A copy of exactly its length: the bytes orjson returns keep the buffer it wrote into
    # (a few KB), and a run remembers tens of thousands of pieces.
    return orjson.Fragment(memoryview(text).tobytes())


def held_value(make: Maker) -> Callable[[Any], Any]:
    """How a piece `make` makes holds an enum member: a model the member, a `Plain` its
    value, a plain str, which orjson writes faster than a str subclass (the same text).

    Only for values no reader of the piece compares by identity or asks for `.value`:
    the value is no member (a dict or set keyed by members still finds it, since a str
    enum hashes and compares as its value). `to_model` gives the models members again."""
    return _value_of if make is plain else as_is


_value_of = attrgetter("_value_")


def as_is(value: Any) -> Any:
    """The value itself: how a model holds what `held_value` or `written_once` would change."""
    return value


def from_fields(make: Maker, model: type[M]) -> Callable[[dict[str, Any]], M]:
    """`trusted_from_fields(model)`, or for `make` `plain` the `Plain` class of `model`:
    one dict of every field's value, in field order, to the piece `make` would make.

    The engine's constructor for pieces it makes once or more per account: the dict
    written out where the values are is quicker than a call binding them to names.
    """
    return plain_class(model) if make is plain else trusted_from_fields(model)


# How the engine makes an output piece: `trusted` (the model) or `plain` (a Plain).
Maker = Callable[[type[M]], Callable[..., M]]


def trusted_from_fields(model: type[M]) -> Callable[[dict[str, Any]], M]:
    """`trusted(model)` taking one dict of every field's value, in field order, which
    becomes the instance's own.

    For the engine's largest model: a dict written out in field order is quicker to
    pass than as many keyword arguments. The caller keeps to the order (tests compare
    its instances with validated ones); like `trusted`, only for values of the
    field types that the engine built itself.
    """
    trusted(model)  # the same checks of the model
    fields_set = set(model.model_fields)
    new = object.__new__
    setters = _slot_setters(model)
    set_dict, set_fields_set = setters["_set_dict"], setters["_set_fields_set"]
    set_extra, set_private = setters["_set_extra"], setters["_set_private"]

    def from_fields(values: dict[str, Any]) -> M:
        made = new(model)
        set_dict(made, values)
        set_fields_set(made, fields_set)
        set_extra(made, None)
        set_private(made, None)
        return made

    return from_fields


def fields_of(piece: BaseModel | Plain) -> dict[str, Any]:
    """A model's or a `Plain`'s field values by name, in field order (not a copy)."""
    return piece if isinstance(piece, Plain) else piece.__dict__


def to_model(value: Any, annotation: Any = None) -> Any:
    """The output model a `Plain` stands for (the values inside it too), as `trusted`
    would make it, a field's enum value as its member (see `held_value`) and a piece
    held as its JSON (see `written_once`) read back into its model; anything else as
    it is. `annotation`: the type the value was declared as, inside a model."""
    if isinstance(value, Plain):
        model = value.model
        declared = model.model_fields
        fields = {name: to_model(held, declared[name].annotation) for name, held in value.items()}
        for name, kind in _enum_fields(model).items():
            if type(fields[name]) is str:
                fields[name] = kind(fields[name])
        return trusted(model)(**fields)
    if type(value) is orjson.Fragment:
        # orjson writes a fragment as it is: inside a list, its JSON can be read back.
        (piece,) = orjson.loads(orjson.dumps([value]))
        return _adapter(annotation).validate_python(piece)
    if type(value) is list:
        return [to_model(held, _held_in(annotation, 0)) for held in value]
    if type(value) is dict:
        return {key: to_model(held, _held_in(annotation, 1)) for key, held in value.items()}
    return value


def _held_in(annotation: Any, position: int) -> Any:
    """What a list (0) or dict (1) annotation holds: its items' or values' type."""
    args = get_args(annotation)
    return args[-1] if args and position < len(args) else None


@functools.lru_cache(maxsize=64)
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


def _enum_fields(model: type[BaseModel]) -> dict[str, type[Enum]]:
    """The model's fields that hold one enum (or None), with the enum."""
    found = _ENUM_FIELDS.get(model)
    if found is None:
        found = {}
        for name, info in model.model_fields.items():
            kinds = [info.annotation, *get_args(info.annotation)]
            enums = [k for k in kinds if isinstance(k, type) and issubclass(k, Enum)]
            if len(enums) == 1:
                found[name] = enums[0]
        _ENUM_FIELDS[model] = found
    return found


_ENUM_FIELDS: dict[type, dict[str, type[Enum]]] = {}


def to_json(model: BaseModel | Plain, *, indent: bool = False, line: bool = False) -> str:
    """`model.model_dump_json()` (with `indent=2` if asked), the same text, made faster;
    `line`: with a newline after it (a JSONL line).

    orjson writes the model's fields as they are held, which for these models is what
    pydantic writes: no aliases, computed fields or custom serializers (checked per
    class, and tests compare the two on thousands of generated accounts). Anything
    orjson cannot write the same way (an integer past 64 bits, say) goes to pydantic.
    """
    data = _orjson(model, indent, line)
    if data is not None:
        return data.decode()
    if isinstance(model, Plain):
        model = to_model(model)
    text = model.model_dump_json(indent=2 if indent else None)
    return text + "\n" if line else text


def to_json_bytes(model: BaseModel | Plain, *, indent: bool = False, line: bool = False) -> bytes:
    """`to_json`'s text encoded as UTF-8, made without the text in between: what a worker
    process sends back and a binary sink is written (orjson writes bytes)."""
    data = _orjson(model, indent, line)
    return data if data is not None else to_json(model, indent=indent, line=line).encode()


def _orjson(model: BaseModel | Plain, indent: bool, line: bool) -> bytes | None:
    """The JSON orjson writes, or None where it cannot write what pydantic would."""
    # A Plain is a dict orjson writes as it is, in field order.
    if isinstance(model, Plain) or _PLAIN.get(type(model)) or _plain_tree(type(model)):
        option = (_INDENT if indent else 0) | (_NEWLINE if line else 0)
        try:
            if indent and isinstance(model, Plain):
                # orjson never indents a piece held as its JSON (`written_once`): the
                # compact text, read back and indented, is the same text indented.
                model = orjson.loads(orjson.dumps(model))  # type: ignore[assignment]
            return orjson.dumps(model, default=_fields, option=option)
        except TypeError:  # orjson.JSONEncodeError: pydantic writes it, or says why not
            pass
    return None


_INDENT = orjson.OPT_INDENT_2
_NEWLINE = orjson.OPT_APPEND_NEWLINE
_PLAIN: dict[type, bool] = {}


# orjson asks this of each object it cannot write itself. In a tree `_plain_tree`
# passed, those are the models, whose __dict__ holds exactly their fields in order (a
# C-level attribute read: it is asked some fifty times per assessment).
_fields = attrgetter("__dict__")


def _plain_tree(model: type[BaseModel]) -> bool:
    """Whether pydantic writes `model`, and every model its fields can hold, field by field
    as held: no aliases, exclusions, computed fields, custom serializers or extras."""
    known = _PLAIN.get(model)
    if known is not None:
        return known
    _PLAIN[model] = True  # a model that holds itself is settled by its other fields
    decorators = model.__pydantic_decorators__
    plain = (
        not model.model_computed_fields
        and not decorators.field_serializers
        and not decorators.model_serializers
        and model.model_config.get("extra") != "allow"
        and not model.model_config.get("ser_json_timedelta")
        and not model.model_config.get("ser_json_bytes")
        and model.model_config.get("ser_json_inf_nan", "null") == "null"
        and all(
            info.alias is None
            and info.serialization_alias is None
            and not info.exclude
            and all(_plain_tree(held) for held in _models_in(info.annotation))
            for info in model.model_fields.values()
        )
    )
    _PLAIN[model] = plain
    return plain


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The model classes an annotation can hold (through lists, unions, dicts ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Evidence(Decision):
    """One signal's contribution to a dimension, with the line a person can check."""

    signal: str
    score: int = Field(ge=0, le=100)
    text: str


class DimensionScore(Decision):
    dimension: Dimension
    score: int = Field(ge=0, le=100, description="0-100, 100 is healthy.")
    weight: float = Field(description="Effective weight after renormalising missing dimensions.")
    evidence: list[Evidence]
    unsmoothed: int | None = Field(
        default=None,
        description="This snapshot's own score when the previous snapshot was blended in "
        "(history smoothing); null when it was not.",
    )


class MissingData(Decision):
    dimension: Dimension
    reason: str


class SourceStatus(Decision):
    """What one data source contributed, for the 'Inputs Used' section."""

    source: Source
    connected: bool
    synced_at: date | None
    stale: bool
    fields_used: list[str]
    in_input: bool | None = Field(
        default=None,
        description="Whether this source has data anywhere in the input (any account); "
        "null when the engine was not told. Not connected in the input is a property of "
        "the whole file, reported once per run, not a problem of this account.",
    )


class ScoreCap(Decision):
    """A guard rail that held the score down so a vanity score cannot hide risk."""

    code: str
    cap: int
    reason: str


class RiskFlag(Decision):
    code: RiskFlagCode
    label: str
    severity: Severity
    evidence: str
    hint: str


class OpportunityFlag(Decision):
    """What a healthy account could become; read after the score and never moves it."""

    code: OpportunityCode
    label: str
    evidence: str = Field(description="The signals that raised it, each checkable.")
    hint: str


class RiskTheme(Decision):
    code: str
    label: str
    because: str


class LegacyRow(Decision):
    field: str
    value: str
    points: int


class LegacyScore(Decision):
    """The legacy additive score, shown so users see what the old way would say."""

    total: int
    band: str
    rows: list[LegacyRow]


class PolicyDecision(Decision):
    """What one gate layer said about one action."""

    layer: GateLayer
    rule: str
    status: ActionStatus
    reason: str


class Action(Decision):
    action: str = Field(description="Stable action id, e.g. send_checkin_email.")
    label: str
    kind: ActionKind
    sensitivity: Sensitivity
    owner: str = Field(description="Owner role, e.g. csm.")
    owner_name: str | None = Field(description="The account owner when the role is csm.")
    priority: Priority
    due_date: date
    status: ActionStatus
    policy_trace: list[PolicyDecision]
    evidence: list[str] = Field(description="Why the action was triggered.")
    purpose: ActionPurpose = Field(
        default=ActionPurpose.REMEDY,
        description="remedy: fixes a problem; opportunity: a play on an opportunity flag.",
    )


class ReviewTask(Decision):
    """Owner review: a person checks the evidence before acting."""

    owner: str
    owner_role: str
    due_date: date
    reasons: list[str]
    checklist: list[str]
    budget_exempt: bool = Field(
        default=False,
        description="The account matches the policy's review_task.budget.never_cut: the "
        "run's review budget never moves this task to 'also at risk'.",
    )


class MeasurementEvent(Decision):
    """Logged per assessment so accuracy and follow-through can be measured later."""

    event_id: str
    event_type: str
    account_id: str
    as_of: date
    score: int | None = Field(description="Null when the account has no signal (band no_data).")
    band: Band
    tier: Tier
    confidence: Confidence
    legacy_total: int
    legacy_band: str
    flags: list[RiskFlagCode]
    opportunities: list[OpportunityCode] = Field(
        default=[], description="Opportunity flags raised, for measuring them against expansions."
    )
    action_statuses: dict[str, ActionStatus]
    policy_version: str


class PriorAssessment(Decision):
    """The few facts of an earlier recorded assessment that trend flags compare against.

    The engine reads these as input (the history store supplies them); it never
    looks anything up itself.
    """

    as_of: date
    score: int | None = Field(
        ge=0, le=100, description="Null for a no_data assessment; trend flags skip it."
    )
    band: str
    dimensions: dict[str, int] = Field(description="Dimension name to its 0-100 score.")


class ScoreTrend(Decision):
    """How this assessment compares with the account's previous one, when history was given."""

    previous_as_of: date
    previous_score: int
    delta: int = Field(description="score - previous_score; negative is a fall.")
    snapshots: int = Field(description="How many earlier assessments the trend flags read.")


class ChurnRisk(Decision):
    """The policy's fitted churn model read at the final score (only with a calibrated policy)."""

    probability: float = Field(ge=0, le=1, description="Chance of churn within the horizon.")
    horizon_days: int
    fitted_as_of: str = Field(description="When `calibrate` fitted the model.")


class UntrustedText(Decision):
    """Text typed into a CRM or ticket: data to quote, never instructions to follow."""

    notes: str | None
    blocker_note: str | None
    contact_name: str | None = None
    contact_email: str | None = None


class Assessment(Decision):
    account_id: str
    name: str
    segment: Segment
    lifecycle: Lifecycle | None
    owner: str | None
    arr: float | None
    renewal_date: date | None
    days_to_renewal: int | None
    contract_term: ContractTerm | None = Field(
        default=None, description="The input's contract_term; null when not given."
    )
    as_of: date
    automation_level: AutomationLevel
    score: int | None = Field(
        ge=0,
        le=100,
        description="Composite health, 100 is healthy. Null when the account has no signal "
        "at all (band and tier no_data): the score is not known, not zero.",
    )
    raw_score: int | None = Field(
        ge=0, le=100, description="The score before guard-rail caps; null with no signal."
    )
    band: Band
    band_note: str | None = Field(
        description="Why the band differs from the score's plain reading (hysteresis); "
        "null when it does not."
    )
    tier: Tier
    tier_basis: str = Field(
        description="weekly_activity, or score when it is absent; no_data with no signal."
    )
    confidence: Confidence
    confidence_reasons: list[str]
    data_quality: list[str] = Field(
        default=[],
        description="Values set aside or corrected because they cannot be true as given: a "
        "date after as_of, more active users than seats, text cut to its limit. Each names "
        "the field and the value.",
    )
    account_evidence: Confidence = Field(
        description="Confidence judged over only the sources connected in the input: what "
        "this account's own data lacks (missing for it, stale, conflicting). The evidence "
        "stop rule and review reason read this; equals confidence when the input's sources "
        "are not known."
    )
    dimensions: list[DimensionScore]
    missing_data: list[MissingData]
    sources: list[SourceStatus]
    caps: list[ScoreCap]
    flags: list[RiskFlag]
    themes: list[RiskTheme]
    opportunities: list[OpportunityFlag] = Field(
        default=[],
        description="Opportunity flags (expansion, advocacy, loyalty, room to grow): a list "
        "apart from the risk flags, read after band and tier; they never move the score.",
    )
    trend: ScoreTrend | None = Field(
        description="Against the previous recorded assessment; null when no history was given."
    )
    churn_risk: ChurnRisk | None = Field(
        description="Churn probability for the score under a calibrated policy; null otherwise."
    )
    legacy: LegacyScore
    actions: list[Action]
    review_task: ReviewTask | None
    measurement_event: MeasurementEvent
    untrusted_text: UntrustedText


class AlsoAtRisk(Decision):
    """An account whose review task the run's budget deferred: still at risk, listed."""

    account_id: str
    as_of: date
    score: int | None = Field(description="Null for an account with no signal (no_data).")
    arr: float | None
    rank: int = Field(description="1-based place among the run's accounts with a review task.")
    reasons: list[str]


class ReviewBudgetSummary(Decision):
    """How the policy's review budget split a run's review tasks."""

    max_share: float
    rank_by: str
    accounts: int = Field(description="Accounts assessed in the run.")
    limit: int = Field(
        description="Open review tasks allowed: max_share x accounts, rounded down, but at "
        "least the policy's min_tasks."
    )
    flagged: int = Field(description="Accounts the engine gave a review task.")
    kept: int = Field(description="Accounts that keep an open review task.")
    never_cut: int = Field(
        description="Kept tasks the policy never defers (review_task.budget.never_cut); "
        "they count against the limit and may exceed it."
    )
    also_at_risk: list[AlsoAtRisk] = Field(
        description="The other accounts with a review task, by rank. In `assess` output "
        "their assessments still carry the task; `run` records it as also_at_risk."
    )


class AssessmentRun(Decision):
    schema_version: str = SCHEMA_VERSION
    as_of: date
    automation_level: AutomationLevel
    policy_version: str
    sources_not_connected: list[Source] = Field(
        default=[],
        description="Sources with no data in any record of the input; reported once here, "
        "not as a problem of each account.",
    )
    assessments: list[Assessment]
    rejected: list[Rejection]
    review_budget: ReviewBudgetSummary | None = Field(
        default=None, description="The policy's review budget over this run; null when off."
    )

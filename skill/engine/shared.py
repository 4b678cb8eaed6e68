"""Identical frozen output pieces, built once per run and shared between accounts.

Many pieces repeat from account to account ("payment status: current", a legacy
row "Blocker / none / 5 points", a risk theme with the same reason), and building
a frozen model costs more than looking one up. A piece is keyed by its model and
every field value it holds, so a hit is exactly the piece that would have been
built; nothing depends on the policy or the account beyond those values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from skill.assessment import Decision, Maker, as_is, trusted

P = TypeVar("P", bound=Decision)

# Per model; the bound keeps memory flat when values vary from account to account.
# Past it, new values are built each time and not kept.
MAX_SHARED_PER_MODEL = 4096


class SharedPieces:
    """Hands out one instance per distinct value of a small frozen model.

    Only for models whose fields hold no lists or dicts (a shared list could be
    changed through one account and show up in another) and no floats (`0.0` and
    `-0.0` are equal keys but different JSON).
    """

    def __init__(
        self,
        limit: int = MAX_SHARED_PER_MODEL,
        make: Maker = trusted,
        keep: Callable[[Any], Any] = as_is,
    ) -> None:
        """`make`: how a piece is made, `trusted` (the model) or `plain` (its values).
        `keep`: how a stage holds a piece it remembers for many accounts in the output
        (`as_is`, or `written_once(plain)`: as its JSON)."""
        self._limit = limit
        self.make = make
        self.keep = keep
        self._pieces: dict[type[Decision], dict[tuple[Any, ...], Decision]] = {}

    def get(self, model: type[P], *values: Any) -> P:
        """The `model` instance with these field values, given in the model's field order."""
        pieces = self._pieces.get(model)
        if pieces is None:
            pieces = self._pieces[model] = {}
        piece = pieces.get(values)
        if piece is None:
            if len(values) != len(model.model_fields):
                raise TypeError(f"{model.__name__}: {len(values)} values for its fields")
            piece = self.make(model)(*values)
            if len(pieces) < self._limit:
                pieces[values] = piece
        return piece  # type: ignore[return-value]

"""Find `assets/` and `prompts/` from a checkout and from an installed wheel.

The wheel carries them under `skill/_data/`; a checkout (or editable install)
has them beside the package.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def _data_root() -> Path:
    bundled = _PACKAGE / "_data"
    if (bundled / "assets").is_dir():
        return bundled
    checkout = _PACKAGE.parent
    if (checkout / "assets").is_dir():
        return checkout
    raise FileNotFoundError(f"assets/ not found beside {_PACKAGE} nor in {bundled}")


def assets_dir() -> Path:
    return _data_root() / "assets"


def prompts_dir() -> Path:
    return _data_root() / "prompts"

"""Optional packages (the `plots` and `deploy` extras), checked before the work that needs them.

`require` looks a package up without importing it, so the check is fast and torch-free.
"""

from __future__ import annotations

import importlib.util

from onceforall.errors import OnceForAllError


def installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):  # ValueError: a module blocked (None) in sys.modules
        return False


def require(
    packages: tuple[str, ...], purpose: str, extra: str, error: type[OnceForAllError]
) -> None:
    """`error` naming the missing packages of `packages` and the extra that installs them."""
    missing = [package for package in packages if not installed(package)]
    if missing:
        raise error(
            f"{purpose} needs {' and '.join(missing)} (pip install 'onceforall[{extra}]'), "
            "which is not installed"
        )

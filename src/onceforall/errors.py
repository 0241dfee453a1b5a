"""Errors a user can cause. The CLI prints them in one line and exits non-zero."""

from __future__ import annotations


class OnceForAllError(Exception):
    """Base class of every error the library raises for bad input."""

    exit_code = 2  # what the CLI exits with


class ArchError(OnceForAllError, ValueError):
    """An architecture that is malformed or outside its space."""


class CodecError(ArchError):
    """A malformed architecture string; the message names the position."""


class UnknownSupernetError(OnceForAllError, KeyError):
    """A supernet name that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class StateDictError(OnceForAllError):
    """A state dict that does not fit a network (missing, unexpected or mis-shaped keys)."""


class ConfigError(OnceForAllError):
    """A bad run configuration: unknown key, wrong type, bad value."""


class DataError(OnceForAllError):
    """Missing or unreadable data."""


class CheckpointError(OnceForAllError):
    """A missing, corrupt or mismatched checkpoint."""


class LatencyTableError(OnceForAllError):
    """A missing, malformed or mismatched latency table, or a failed measurement."""


class PredictorError(OnceForAllError):
    """A missing, malformed or mismatched accuracy predictor, or a bad accuracy dataset."""


class SearchError(OnceForAllError):
    """A search that cannot run: no budget, an impossible budget, a mismatched input."""


class ExportError(OnceForAllError):
    """An export that cannot be written or verified (e.g. outputs beyond the tolerance)."""


class ElastifyError(OnceForAllError):
    """A network that cannot be made elastic (it does not trace, or its input is not images)."""

"""The playground's one error: a one-line message the page shows as it is."""

from __future__ import annotations

from ..errors import FFBPError


class PlaygroundError(FFBPError, ValueError):
    """A setting, an upload or a request the playground cannot use. The message is one line
    that names what is wrong (the key, the column, the row) and what is allowed."""

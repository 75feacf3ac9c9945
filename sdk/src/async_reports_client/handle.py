"""What both job handles (`Operation`, `AsyncOperation`) know without a request."""

from __future__ import annotations

from typing import Any

from async_reports_client.flows import OperationState


class Handle:
    """The state a handle keeps of its job: id, kind, the latest document, the token."""

    def __init__(self, state: OperationState) -> None:
        self._state = state

    def __repr__(self) -> str:
        status = (self.document or {}).get("status", "unknown")
        return f"<{type(self).__name__} {self.kind} {self.id} {status}>"

    @property
    def id(self) -> str:
        """The job's id."""
        return self._state.id

    @property
    def kind(self) -> str:
        """Which kind of job: `report` or `import`."""
        return self._state.kind

    @property
    def document(self) -> dict[str, Any] | None:
        """The latest status document seen (no request made), None before the first."""
        return self._state.document

    @property
    def done(self) -> bool:
        """True when the latest document seen says the job has ended (no request made)."""
        return self._state.terminal

    def continuation_token(self) -> str:
        """A string that the client's `resume` turns back into this handle, in any process."""
        return self._state.reference.token()

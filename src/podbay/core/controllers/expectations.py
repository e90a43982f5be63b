"""``ControllerExpectations`` / ``UIDTrackingControllerExpectations`` (pkg/controller/controller_utils.go).

A controller that issued N creates (or deletes) must not act again on a cache that has not seen
them yet, or a burst of syncs creates N more: it records what it expects, the informer's events
lower the counts, and the controller syncs its replicas only once they are fulfilled (or five
minutes have passed, in case an event was lost). State only; the clock comes in as ``now``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

EXPECTATIONS_TIMEOUT = 5 * 60.0


@dataclasses.dataclass
class _Expectation:
    add: int
    delete: int
    timestamp: float

    def fulfilled(self) -> bool:
        return self.add <= 0 and self.delete <= 0


class ControllerExpectations:
    def __init__(self) -> None:
        self._exp: dict[str, _Expectation] = {}

    def satisfied(self, key: str, now: float) -> bool:
        """``SatisfiedExpectations``: no record, fulfilled, or expired."""
        exp = self._exp.get(key)
        if exp is None:
            return True
        return exp.fulfilled() or now - exp.timestamp > EXPECTATIONS_TIMEOUT

    def set(self, key: str, add: int, delete: int, now: float) -> None:
        self._exp[key] = _Expectation(add, delete, now)

    def expect_creations(self, key: str, n: int, now: float) -> None:
        self.set(key, n, 0, now)

    def expect_deletions(self, key: str, n: int, now: float) -> None:
        self.set(key, 0, n, now)

    def lower(self, key: str, add: int, delete: int) -> None:
        exp = self._exp.get(key)
        if exp is not None:
            exp.add -= add
            exp.delete -= delete

    def creation_observed(self, key: str) -> None:
        self.lower(key, 1, 0)

    def deletion_observed(self, key: str) -> None:
        self.lower(key, 0, 1)

    def forget(self, key: str) -> None:
        """``DeleteExpectations``: the controller object itself is gone."""
        self._exp.pop(key, None)

    def pending(self, key: str) -> tuple[int, int]:
        exp = self._exp.get(key)
        return (exp.add, exp.delete) if exp else (0, 0)


class UIDTrackingExpectations(ControllerExpectations):
    """Deletions tracked by pod key, so a pod seen deleted twice (update with deletionTimestamp,
    then the delete itself) lowers the count once."""

    def __init__(self) -> None:
        super().__init__()
        self._uids: dict[str, set[str]] = {}

    def expect_deletions_of(self, key: str, dependents: Iterable[str], now: float) -> None:
        deps = set(dependents)
        self._uids[key] = deps
        self.expect_deletions(key, len(deps), now)

    def deletion_observed_of(self, key: str, dependent: str) -> None:
        deps = self._uids.get(key)
        if deps is not None and dependent in deps:
            deps.discard(dependent)
            self.deletion_observed(key)

    def forget(self, key: str) -> None:
        super().forget(key)
        self._uids.pop(key, None)

"""Stand-ins for the helpers the seed articles call but never define (DESIGN §5)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any


class PaymentAPIError(Exception):
    """The payment provider refused or failed."""


@dataclass(frozen=True)
class PaymentResult:
    """What the fake payment provider returns: the seeds read `.id`."""

    id: str
    user_id: int
    amount: Any


@dataclass
class PaymentAPI:
    """A fake payment provider that fails on demand: `payment_api.fail_next(2)`."""

    failures_left: int = 0
    calls: list[tuple[int, Any]] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def fail_next(self, n: int = 1) -> None:
        """Make the next `n` calls raise `PaymentAPIError`."""
        self.failures_left = n

    def __call__(self, user_id: int, amount: Any) -> PaymentResult:
        self.calls.append((user_id, amount))
        if self.failures_left > 0:
            self.failures_left -= 1
            raise PaymentAPIError(f"payment of {amount} for user {user_id} declined")
        return PaymentResult(id=f"conf-{next(self._ids)}", user_id=user_id, amount=amount)


@dataclass
class Recorder:
    """A stand-in that records its calls, such as `notify_support(user_id)`."""

    name: str
    calls: list[tuple[Any, ...]] = field(default_factory=list)

    def __call__(self, *args: Any) -> None:
        self.calls.append(args)

    def __repr__(self) -> str:
        return f"<{self.name}: {len(self.calls)} call(s)>"


def make_standins() -> dict[str, Any]:
    """Fresh stand-ins for one session's namespace."""
    payment_api = PaymentAPI()
    return {
        "payment_api": payment_api,
        "call_payment_api": payment_api,
        "PaymentAPIError": PaymentAPIError,
        "notify_support": Recorder("notify_support"),
        "log_invalid_row": Recorder("log_invalid_row"),
        "log_error": Recorder("log_error"),
    }

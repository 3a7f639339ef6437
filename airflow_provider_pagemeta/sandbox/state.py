"""State shared by the sandbox's CMS emulators: config, request log, injected faults, clock.

The sandbox is written from the API documents, independently of the client side: nothing here
imports the provider's hooks or core, so a wrong guess on one side cannot make its own test pass.
"""

from __future__ import annotations

import fnmatch
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

#: Upper bounds that keep a typo from building millions of pages in memory.
CONFIG_MAXIMA: dict[str, int] = {"webflow_large_site_pages": 100_000, "buttercms_product_pages": 20_000}


@dataclass
class SandboxConfig:
    """Knobs a test or a user can turn (``POST /_sandbox/config`` or command-line flags)."""

    #: Webflow requests allowed per token per window (Basic plan: 60 per minute).
    webflow_rate_limit: int = 60
    #: Length of Webflow's rate-limit window in seconds.
    webflow_rate_window: float = 60.0
    #: Seconds between a ButterCMS 202 and the change becoming readable.
    buttercms_apply_delay: float = 1.0
    #: Seconds after a successful Webflow publish of a site before the next one is accepted
    #: (Webflow: "one successful publish per minute").
    webflow_publish_interval: float = 60.0
    #: Pages of the generated Webflow "large site" (benchmarks: 10,000 and more).
    webflow_large_site_pages: int = 1000
    #: ButterCMS API calls allowed since reset before every call answers 429 (0: unlimited), as a
    #: Free or Trial plan's monthly quota does.
    buttercms_monthly_quota: int = 0
    #: Pages of the generated ButterCMS page type ``product`` (List Pages, bulk benchmarks).
    buttercms_product_pages: int = 250

    def update(self, values: dict[str, Any]) -> None:
        """Apply a partial update after checking all of it (nothing changes when one value is bad)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown config key(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        checked = {key: self._checked(key, value) for key, value in values.items()}
        for key, value in checked.items():
            setattr(self, key, value)

    def _checked(self, key: str, value: Any) -> int | float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
            raise ValueError(f"{key} must be a non-negative number")
        if isinstance(getattr(self, key), int):
            if value != int(value):
                raise ValueError(f"{key} must be a whole number")
            value = int(value)
        else:
            value = float(value)
        limit = CONFIG_MAXIMA.get(key)
        if limit is not None and value > limit:
            raise ValueError(f"{key} must be at most {limit}")
        return value

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Fault:
    """One injected fault, applied to the next ``count`` matching requests."""

    method: str = "*"
    path: str = "*"
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    drop: bool = False
    count: int = 1
    #: Let this many matching requests through untouched before the fault starts applying
    #: ("fail the third write", "die after K pages").
    skip: int = 0
    #: Apply to each matching request with this probability (1.0: always), drawn from a random
    #: generator seeded with ``seed``, so a "5% transient faults" soak is reproducible.
    rate: float = 1.0
    seed: int | None = None
    _rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def fires(self) -> bool:
        """Whether this matching request is hit (always, unless ``rate`` < 1)."""
        return self.rate >= 1.0 or self._rng.random() < self.rate

    def matches(self, method: str, path: str) -> bool:
        if self.count <= 0:
            return False
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.path)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        allowed = {f.name for f in fields(cls) if not f.name.startswith("_")}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"unknown fault key(s): {', '.join(unknown)}")
        fault = cls(**data)
        if fault.status is not None and not 100 <= int(fault.status) <= 599:
            raise ValueError("status must be an HTTP status code")
        if fault.count < 1:
            raise ValueError("count must be >= 1")
        if fault.delay < 0:
            raise ValueError("delay must be >= 0")
        if fault.skip < 0:
            raise ValueError("skip must be >= 0")
        if not 0.0 < fault.rate <= 1.0:
            raise ValueError("rate must be in (0, 1]")
        return fault


class SandboxState:
    """Everything the emulators share. Handlers are ``async def`` on one event loop, so no locks."""

    def __init__(self, config: SandboxConfig | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.default_config = SandboxConfig(**(config or SandboxConfig()).as_dict())
        self.config = SandboxConfig(**self.default_config.as_dict())
        self.clock = clock
        self.requests: list[dict[str, Any]] = []
        self.faults: list[Fault] = []

    def reset(self) -> None:
        self.config = SandboxConfig(**self.default_config.as_dict())
        self.requests.clear()
        self.faults.clear()

    def take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, path):
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                if not fault.fires():
                    continue
                fault.count -= 1
                return fault
        return None

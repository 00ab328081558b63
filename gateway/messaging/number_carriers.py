"""Which carrier each of our numbers is on, for the inbound webhooks: no carrier speaks for another's numbers."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from gateway.messaging.inbound import normalise
from gateway.storage import communities as rows
from gateway.storage.db import Executor


@dataclass
class NumberCarriers:
    """A number's carrier is set when the number is added; a number can be removed and added again on another
    carrier (DELETE then POST /v1/communities/{id}/numbers, in any process), so what is read is kept for KEEP
    seconds (one entry per number we own); a number that is nobody's is asked again each time, as it may be
    added at any moment."""

    db: Executor
    default: str  # the carrier of the numbers that name none (carrier.name)
    _known: dict[str, tuple[str, float]] = field(default_factory=dict)  # as written -> (carrier, read at)

    KEEP = 60.0  # seconds: how long after a number moves carriers its old carrier may still speak for it

    async def on(self, to_number: str, carrier: str) -> bool:
        """Whether texts to to_number (as the carrier wrote it) may come from carrier: it is that number's
        carrier, or the number is nobody's (the inbound path answers those as it always has). Kept by the form
        the carrier writes, so the usual text costs a dict lookup, not a parse."""
        known, read_at = self._known.get(to_number, (None, 0.0))
        now = time.monotonic()
        if known is None or now - read_at > self.KEEP:
            found = await rows.find_number_carrier(self.db, phone=normalise(to_number))
            if found is None:
                self._known.pop(to_number, None)
                return True
            known = found.carrier or self.default
            self._known[to_number] = (known, now)
        return known == carrier

"""Which carrier each of our numbers is on, for the inbound webhooks: no carrier speaks for another's numbers."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.messaging.inbound import normalise
from gateway.storage import communities as rows
from gateway.storage.db import Executor


@dataclass
class NumberCarriers:
    """A number's carrier is set when the number is added and never changes, so once read it is kept for the
    life of the process (one entry per number we own); a number that is nobody's is asked again each time,
    as it may be added at any moment."""

    db: Executor
    default: str  # the carrier of the numbers that name none (carrier.name)
    _known: dict[str, str] = field(default_factory=dict)

    async def on(self, to_number: str, carrier: str) -> bool:
        """Whether texts to to_number (as the carrier wrote it) may come from carrier: it is that number's
        carrier, or the number is nobody's (the inbound path answers those as it always has). Kept by the form
        the carrier writes, so the usual text costs a dict lookup, not a parse."""
        known = self._known.get(to_number)
        if known is None:
            found = await rows.find_number_carrier(self.db, phone=normalise(to_number))
            if found is None:
                return True
            known = self._known[to_number] = found.carrier or self.default
        return known == carrier

"""Who may see what: the one visibility rule every read applies.

A *viewer* is an organisation id, or None for a key that sees everything (the
regulator, or auditor, role: ``SEES_ALL_ROLES``).

- An organisation sees everything at its own locations.
- It *handled* a lot that it registered (made), that has (or had) stock at one of
  its locations, or that was shipped to or from one of them.
- Of other organisations it sees the lots it handled one step up and one step down
  the chain: in a trace, the other organisation's (lot, location) nodes joined by
  one shipment to one of its own nodes. Of such a *partner* node it sees what the
  lot is and where, what was made there and what passed between the two of them,
  never the partner's stock, in transit, sales, use or disposals, and nothing of
  any third organisation.
- Of a lot's history (its log entries: the lot events read and the provenance bundle) it
  sees the entries it wrote and those at, from or to one of its own locations
  (``concerns``); the bundle reads them from the lots of its own trace.
- A lot it never handled answers as if it did not exist (``NotFound``), unless it
  is a lot of a recall the organisation made: a recall's owner sees the recalled
  lots' whole trace.

This module holds the rule's queries; ``ledger.lineage.graph``, ``ledger.trace.lots`` and the
readers built on them call it, so that there is one definition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, column, or_, select, table

from ledger.storage.schema import Location, Lot, Shipment, Stock

#: Roles whose keys see every organisation's data (and write no events).
SEES_ALL_ROLES = frozenset({"regulator", "auditor"})

OWN = "own"
PARTNER = "partner"

# The recall module's tables, named here without importing it (it imports the trace).
_recalls = table("recalls", column("id"), column("org_id"))
_recall_items = table("recall_items", column("recall_id"), column("lot_id"))
_CHUNK = 500
#: The event fields that name a location an entry happened at, came from or went to.
LOCATION_FIELDS = ("location", "to_location", "from_location", "supplier_location")


def viewer_for_role(org_id: str, role: str) -> str | None:
    """The organisation whose view a key of ``role`` gets; None when it sees everything."""
    return None if role in SEES_ALL_ROLES else org_id


def own_locations(conn: Connection, org_id: str) -> set[str]:
    return set(conn.execute(select(Location.id).where(Location.org_id == org_id)).scalars())


def concerns(envelope: Mapping[str, Any], viewer: str, own: set[str]) -> bool:
    """Whether ``viewer`` (whose locations are ``own``) may see this log entry: it wrote
    it, or the event is at, from or to one of its locations."""
    if envelope.get("actor") == viewer:
        return True
    event = envelope.get("event")
    if not isinstance(event, Mapping):
        return False
    return any(event.get(name) in own for name in LOCATION_FIELDS)


def handled_lots(conn: Connection, org_id: str, lot_ids: Iterable[int]) -> set[int]:
    """Those of ``lot_ids`` that ``org_id`` made, holds or held stock of, or shipped or
    received (or was shipped): the lots it may see."""
    wanted = sorted(set(lot_ids))
    found: set[int] = set()
    own = select(Location.id).where(Location.org_id == org_id).scalar_subquery()
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        found.update(
            conn.execute(select(Lot.id).where(Lot.id.in_(chunk), Lot.org_id == org_id)).scalars()
        )
        rest = [x for x in chunk if x not in found]
        if not rest:
            continue
        found.update(
            conn.execute(
                select(Stock.lot_id).where(Stock.lot_id.in_(rest), Stock.location_id.in_(own))
            ).scalars()
        )
        rest = [x for x in rest if x not in found]
        if not rest:
            continue
        found.update(
            conn.execute(
                select(Shipment.lot_id).where(
                    Shipment.lot_id.in_(rest),
                    or_(Shipment.to_location.in_(own), Shipment.from_location.in_(own)),
                )
            ).scalars()
        )
    return found


def recalled_lots(conn: Connection, org_id: str, lot_ids: Iterable[int]) -> set[int]:
    """Those of ``lot_ids`` that are in a recall ``org_id`` made."""
    wanted = sorted(set(lot_ids))
    found: set[int] = set()
    for i in range(0, len(wanted), _CHUNK):
        found.update(
            int(x)
            for x in conn.execute(
                select(_recall_items.c.lot_id)
                .join(_recalls, _recalls.c.id == _recall_items.c.recall_id)
                .where(
                    _recalls.c.org_id == org_id,
                    _recall_items.c.lot_id.in_(wanted[i : i + _CHUNK]),
                )
            ).scalars()
        )
    return found


def visible_lots(conn: Connection, org_id: str, lot_ids: Sequence[int]) -> set[int]:
    """The lots of ``lot_ids`` ``org_id`` may see: handled, or of its recalls."""
    seen = handled_lots(conn, org_id, lot_ids)
    rest = [x for x in lot_ids if x not in seen]
    if rest:
        seen |= recalled_lots(conn, org_id, rest)
    return seen


def exchanged(
    conn: Connection, lot_ids: Iterable[int], partners: set[str], own: set[str]
) -> dict[tuple[int, str], tuple[int, int]]:
    """Per partner node (lot, location): what it shipped to ``own`` locations and what it
    received of what ``own`` locations shipped to it (micro-units)."""
    out: dict[tuple[int, str], tuple[int, int]] = {}
    wanted = sorted(set(lot_ids))
    for i in range(0, len(wanted), _CHUNK):
        rows = conn.execute(
            select(
                Shipment.lot_id,
                Shipment.from_location,
                Shipment.to_location,
                Shipment.quantity,
                Shipment.received,
            ).where(
                Shipment.lot_id.in_(wanted[i : i + _CHUNK]),
                or_(Shipment.from_location.in_(partners), Shipment.to_location.in_(partners)),
            )
        )
        for lot_id, frm, to, qty, received in rows:
            if frm in partners and to in own:
                shipped, got = out.get((lot_id, frm), (0, 0))
                out[(lot_id, frm)] = (shipped + int(qty), got)
            elif to in partners and frm in own:
                shipped, got = out.get((lot_id, to), (0, 0))
                out[(lot_id, to)] = (shipped, got + int(received))
    return out

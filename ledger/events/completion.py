"""Decisions that depend on master data, fixed when an event is appended and written into it.

The read models are rebuilt by replaying the log, so nothing the projector derives may
depend on master data an administrator can change later. The write path therefore
completes each new event, under the log head's lock and before it is canonicalised and
hashed, with what the master data says *now*:

- ``register`` without an ``expiry``: the production date (or the event's date) plus the
  product's shelf life, when the product has one;
- ``transform`` outputs without an ``expiry``: the event's date plus the output product's
  shelf life;
- ``order_placed`` lines without a ``unit_price``: the price the ledger knows, the buying
  organisation's agreed unit cost (its own terms), else the supplier's catalogue price
  (``ledger.masterdata.catalogue``); a product with neither keeps none;
- ``order_placed``: ``approval_required`` and, when it is true, ``approval_reason``: the
  order's value at the known prices (the client's price only for a line with none) over
  the buying organisation's approval limit, a line's client-sent price other than the known
  one (kept on the order as sent), or a line with no known price at all. Only the ledger
  sets them; a client that sends either is refused.

Before any of that, and before idempotency is settled, ``resolve_locations`` replaces a
GLN given as ``location``, ``from_location``, ``to_location`` or ``supplier_location``
with the id of the location registered with that GLN: the logged event always names
locations by id, whichever of the two the client sent. A value that is a location id
stays as it is (an id wins over a GLN that happens to have the same digits); a 13-digit
value that is neither gets a problem naming the GLN, or saying that its check digit is
wrong. A resent event matches its logged original whether it names a location by id or
by GLN.

The logged event is the completed one, so a verifier reads the same fields the
projector used. Idempotency compares a resent event with the logged one as the client
sent it (``as_sent``): the fields the ledger filled in are left out of the comparison
when the resent event leaves them out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, select

from ledger.errors import EventValidationError, Problem
from ledger.events import models as ev
from ledger.events.rules import DEFAULT_APPROVAL_LIMIT, order_value
from ledger.quantity import format_micro, parse_decimal
from ledger.storage.bulk import select_in
from ledger.storage.schema import CataloguePrice, Location, OrderPolicy, Product, ProductTerms
from verifier.gs1 import GLN_LENGTH, IdentifierError, validate_gln

_CHUNK = 400
_COMPLETED = ("register", "transform", "order_placed")
#: The fields that name a location, in every event type that has them.
LOCATION_FIELDS = ("location", "from_location", "to_location", "supplier_location")


# Remembered: a pure function of two values, and a batch's events mostly share their day and
# product; about 0.6 microseconds each otherwise, a fifth of completing a register event.
@lru_cache(maxsize=4096)
def shelf_life_expiry(day: str, shelf_life_days: int | None) -> str | None:
    if shelf_life_days is None:
        return None
    try:
        return (date.fromisoformat(day) + timedelta(days=shelf_life_days)).isoformat()
    except OverflowError:  # a production date near year 9999: no expiry to fill in
        return None


def server_field_problems(events: Sequence[BaseModel]) -> list[Problem]:
    """Fields only the ledger may set, sent by a client."""
    return [
        Problem(
            index,
            name,
            f"{name} is decided by the ledger from the known prices and the buyer's approval "
            "limit; leave it out",
        )
        for index, e in enumerate(events)
        if isinstance(e, ev.OrderPlaced)
        for name in ("approval_required", "approval_reason")
        if getattr(e, name) is not None
    ]


def as_sent(stored: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    """The logged event ``stored`` without the fields the ledger filled in that ``sent``
    (a resent event, as the client sent it) leaves out."""
    etype = stored.get("type")
    if etype not in _COMPLETED or etype != sent.get("type"):
        return stored
    view = dict(stored)
    if etype == "register":
        if "expiry" not in sent:
            view.pop("expiry", None)
    elif etype == "transform":
        view["outputs"] = _strip_items(stored.get("outputs", []), sent.get("outputs"), "expiry")
    else:
        view.pop("approval_required", None)
        view.pop("approval_reason", None)
        view["lines"] = _strip_items(stored.get("lines", []), sent.get("lines"), "unit_price")
    return view


def _strip_items(stored: list[Any], sent: Any, key: str) -> list[Any]:
    sent_items = sent if isinstance(sent, list) else []
    out = []
    for n, item in enumerate(stored):
        given = sent_items[n] if n < len(sent_items) else {}
        if isinstance(item, dict) and isinstance(given, dict) and key not in given:
            out.append({k: v for k, v in item.items() if k != key})
        else:
            out.append(item)
    return out


def complete(
    conn: Connection,
    events: list[BaseModel],
    dumped: list[dict[str, Any]],
    actors: Sequence[str],
    indexes: Iterable[int],
) -> None:
    """Complete ``events[i]`` and ``dumped[i]`` for each of ``indexes``: the lists' items
    are replaced, the dumped events themselves never changed."""
    todo = [i for i in indexes if dumped[i]["type"] in _COMPLETED]
    if not todo:
        return
    gtins: set[str] = set()
    ordered: set[str] = set()
    buyers: set[str] = set()
    for i in todo:
        e = events[i]
        if isinstance(e, ev.Register):
            if e.expiry is None:
                gtins.add(e.lot.gtin)
        elif isinstance(e, ev.Transform):
            gtins.update(o.lot.gtin for o in e.outputs if o.expiry is None)
        elif isinstance(e, ev.OrderPlaced):
            ordered.update(line.gtin for line in e.lines)  # every line: approval uses it
            buyers.add(actors[i])
    shelf_life, catalogue = _products(conn, gtins | ordered)
    agreed = _agreed_costs(conn, buyers, ordered)
    limits = _approval_limits(conn, buyers)
    for i in todo:
        e = events[i]
        if isinstance(e, ev.Register):
            if e.expiry is None:
                start = e.production_date or e.event_time[:10]
                expiry = shelf_life_expiry(start, shelf_life.get(e.lot.gtin))
                if expiry is not None:
                    events[i] = e.model_copy(update={"expiry": expiry})
                    dumped[i] = {**dumped[i], "expiry": expiry}
        elif isinstance(e, ev.Transform):
            # Copies, never the dumped event in place: a failed group commit retries it.
            outputs = list(dumped[i]["outputs"])
            filled = False
            for n, out in enumerate(e.outputs):
                if out.expiry is None:
                    expiry = shelf_life_expiry(e.event_time[:10], shelf_life.get(out.lot.gtin))
                    if expiry is not None:
                        outputs[n] = {**outputs[n], "expiry": expiry}
                        filled = True
            if filled:
                dumped[i] = {**dumped[i], "outputs": outputs}
                (events[i],) = ev.parse_events([dumped[i]])
        elif isinstance(e, ev.OrderPlaced):
            buyer = actors[i]
            dumped[i] = _priced_order(e, dumped[i], buyer, agreed, catalogue, limits[buyer])
            (events[i],) = ev.parse_events([dumped[i]])


def _priced_order(
    e: ev.OrderPlaced,
    dumped: dict[str, Any],
    buyer: str,
    agreed: dict[tuple[str, str], int],
    catalogue: dict[str, int],
    limit: int,
) -> dict[str, Any]:
    """``dumped`` (the order) with its lines priced at the known prices where they send
    none, and the ledger's approval decision and reason."""
    lines = list(dumped["lines"])
    priced: list[tuple[int, int]] = []  # (quantity, the price the ledger knows)
    reasons: list[str] = []
    for n, line in enumerate(e.lines):
        cost = agreed.get((buyer, line.gtin), 0)
        known, source = (
            (cost, "your agreed unit cost")
            if cost > 0
            else (catalogue.get(line.gtin, 0), "the supplier's catalogue price")
        )
        if line.unit_price is None and known > 0:
            lines[n] = {**lines[n], "unit_price": format_micro(known)}
        sent = _price(line.unit_price)
        where = f"line {n + 1} ({line.gtin})"
        if known <= 0:
            reasons.append(f"{where} has no known price (no agreed unit cost, no catalogue price)")
        elif line.unit_price is not None and sent != known:
            reasons.append(
                f"{where}: the unit price sent, {format_micro(sent)}, differs from "
                f"{source}, {format_micro(known)}"
            )
        priced.append((parse_decimal(line.quantity), known if known > 0 else sent))
    value = order_value(priced)
    if value > limit:
        reasons.insert(
            0,
            f"its value at the known prices, {format_micro(value)}, is over the "
            f"approval limit of {format_micro(limit)}",
        )
    if len(reasons) > _REASONS_SHOWN:
        more = len(reasons) - _REASONS_SHOWN
        reasons = [*reasons[:_REASONS_SHOWN], f"and {more} more lines"]
    completed = {**dumped, "lines": lines, "approval_required": bool(reasons)}
    if reasons:
        completed["approval_reason"] = "; ".join(reasons)
    return completed


#: An approval reason names at most this many lines and counts the rest.
_REASONS_SHOWN = 5


def _price(text: str | None) -> int:
    return 0 if text is None else parse_decimal(text)


# Raw SQL for select_in: building and keying the SELECT ... IN statement with the Core
# cost every append that completes events several times the query itself
# (docs/benchmarks-history.md, "Figures from the code").
_PRODUCTS_BY_GTIN = (
    f"SELECT {Product.__tablename__}.gtin, shelf_life_days, unit_price "  # noqa: S608 - schema names
    f"FROM {Product.__tablename__} LEFT OUTER JOIN {CataloguePrice.__tablename__} "
    f"ON {CataloguePrice.__tablename__}.gtin = {Product.__tablename__}.gtin "
    f"WHERE {Product.__tablename__}.gtin {{keys}}"
)


def _products(conn: Connection, gtins: set[str]) -> tuple[dict[str, int], dict[str, int]]:
    """Per product: its shelf life, and its catalogue price (where its supplier set one)."""
    shelf_life: dict[str, int] = {}
    catalogue: dict[str, int] = {}
    for gtin, days, price in select_in(conn, _PRODUCTS_BY_GTIN, sorted(gtins), chunk=_CHUNK):
        if days is not None:
            shelf_life[gtin] = int(days)
        if price is not None:
            catalogue[gtin] = int(price)
    return shelf_life, catalogue


def _agreed_costs(
    conn: Connection, buyers: set[str], gtins: set[str]
) -> dict[tuple[str, str], int]:
    """Each buying organisation's agreed unit cost of each product, from its own terms."""
    found: dict[tuple[str, str], int] = {}
    if not buyers or not gtins:
        return found
    ordered = sorted(gtins)
    for start in range(0, len(ordered), _CHUNK):
        found.update(
            ((str(org), str(gtin)), int(cost))
            for org, gtin, cost in conn.execute(
                select(ProductTerms.org_id, ProductTerms.gtin, ProductTerms.unit_cost).where(
                    ProductTerms.org_id.in_(sorted(buyers)),
                    ProductTerms.gtin.in_(ordered[start : start + _CHUNK]),
                )
            )
        )
    return found


def _approval_limits(conn: Connection, orgs: set[str]) -> dict[str, int]:
    limits = dict.fromkeys(orgs, DEFAULT_APPROVAL_LIMIT)
    ordered = sorted(orgs)
    for start in range(0, len(ordered), _CHUNK):
        limits.update(
            (str(org), int(limit))
            for org, limit in conn.execute(
                select(OrderPolicy.org_id, OrderPolicy.approval_limit).where(
                    OrderPolicy.org_id.in_(ordered[start : start + _CHUNK])
                )
            )
        )
    return limits


#: Per event type, the location field it has besides ``location``.
_OTHER_LOCATION = {
    "ship": "to_location",
    "receive": "from_location",
    "order_placed": "supplier_location",
}


def resolve_locations(
    conn: Connection,
    events: list[BaseModel],
    dumped: list[dict[str, Any]],
    indexes: Iterable[int],
) -> None:
    """Name every location of ``events[i]`` and ``dumped[i]`` (each of ``indexes``) by its
    id: a GLN becomes the id of the location registered with it. Raises
    ``EventValidationError`` with a problem for every 13-digit value that is neither a
    location id nor a known GLN. The lists' items are replaced, never changed in place."""
    # On the write path for every batch: a few string checks an event, no lookups when no
    # value has a GLN's 13 digits (schema-checked location ids are strings).
    wanted: dict[int, list[str]] = {}
    other_of = _OTHER_LOCATION.get
    for i in indexes:
        d = dumped[i]
        location = d["location"]
        if len(location) == GLN_LENGTH and location.isdigit():
            wanted[i] = ["location"]
        other = other_of(d["type"])
        if other is not None:
            value = d[other]
            if len(value) == GLN_LENGTH and value.isdigit():
                wanted.setdefault(i, []).append(other)
    if not wanted:
        return  # no value looks like a GLN: nothing to ask the database
    values = sorted({dumped[i][f] for i, fields in wanted.items() for f in fields})
    ids: set[str] = set()
    by_gln: dict[str, str] = {}
    for start in range(0, len(values), _CHUNK):
        chunk = values[start : start + _CHUNK]
        rows = conn.execute(
            select(Location.id, Location.gln).where(
                Location.id.in_(chunk) | Location.gln.in_(chunk)
            )
        )
        for location_id, gln in rows:
            ids.add(str(location_id))
            if gln is not None:
                by_gln[str(gln)] = str(location_id)
    problems: list[Problem] = []
    for i, fields in wanted.items():
        update: dict[str, str] = {}
        for f in fields:
            value = dumped[i][f]
            if value in ids:
                continue
            if value in by_gln:
                update[f] = by_gln[value]
                continue
            try:
                validate_gln(value)
            except IdentifierError as exc:
                reason = str(exc).removeprefix(f"GLN {value}: ")
                problems.append(
                    Problem(
                        i,
                        f,
                        f"unknown location {value!r}: no location has this id, and as a GLN "
                        f"its {reason}",
                    )
                )
                continue
            problems.append(
                Problem(
                    i,
                    f,
                    f"unknown GLN {value}: no location is registered with it "
                    "(give the location's id, or register the GLN on its location)",
                )
            )
        if update and not problems:
            events[i] = events[i].model_copy(update=update)
            dumped[i] = {**dumped[i], **update}
    if problems:
        problems.sort(key=lambda p: (p.index, LOCATION_FIELDS.index(p.field)))
        raise EventValidationError(problems)

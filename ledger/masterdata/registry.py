"""Organisations, locations and products: the master data events refer to."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from ledger import quantity
from ledger.errors import EventValidationError, NotFound, Problem, RuleViolation
from ledger.storage.db import read_transaction, write_transaction
from ledger.storage.schema import Location, Organisation, Product
from verifier.gs1 import IdentifierError, validate_gln, validate_gtin

LOCATION_KINDS = (
    "farm",
    "packer",
    "processor",
    "warehouse",
    "distribution_centre",
    "store",
    "restaurant",
)
UNITS = ("each", "case", "pallet", "kg", "g", "lb", "oz", "l", "ml")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


@dataclass(frozen=True, slots=True)
class LocationInfo:
    id: str
    org_id: str
    name: str
    kind: str
    gln: str | None
    address: str | None


def _invalid(field: str, message: str) -> EventValidationError:
    return EventValidationError([Problem(0, field, message)])


def create_organisation(engine: Engine, org_id: str, name: str) -> None:
    if not _ID.fullmatch(org_id):
        raise _invalid("id", f"{org_id!r} is not an id (1-64 letters, digits and . _ : -)")
    if not name.strip():
        raise _invalid("name", "an organisation needs a name")
    now = datetime.now(UTC).isoformat()
    try:
        with write_transaction(engine) as conn:
            conn.execute(insert(Organisation).values(id=org_id, name=name, created_at=now))
    except IntegrityError:
        raise RuleViolation(0, f"organisation {org_id!r} already exists", "id") from None


def create_location(
    engine: Engine,
    location_id: str,
    *,
    org_id: str,
    name: str,
    kind: str,
    gln: str | None = None,
    address: str | None = None,
) -> LocationInfo:
    if not _ID.fullmatch(location_id):
        raise _invalid(
            "id", f"{location_id!r} is not a location id (1-64 letters, digits and . _ : -)"
        )
    if kind not in LOCATION_KINDS:
        raise _invalid("kind", f"{kind!r} is not one of {', '.join(LOCATION_KINDS)}")
    if gln is not None:
        try:
            gln = validate_gln(gln)
        except IdentifierError as exc:
            raise _invalid("gln", str(exc)) from None
    info = LocationInfo(location_id, org_id, name, kind, gln, address)
    try:
        with write_transaction(engine) as conn:
            if (
                conn.execute(select(Organisation.id).where(Organisation.id == org_id)).first()
                is None
            ):
                raise NotFound(f"organisation {org_id!r} does not exist")
            conn.execute(
                insert(Location).values(
                    id=location_id, org_id=org_id, name=name, kind=kind, gln=gln, address=address
                )
            )
    except IntegrityError:
        raise RuleViolation(
            0, f"location {location_id!r} or GLN {gln} already exists", "id"
        ) from None
    return info


def _net_weight(text: str) -> str:
    """A net weight in kilograms that GS1 AI (310n) can carry: positive, six digits at
    most with at most five of them decimals (0.00001 to 999999 kg), normalized."""
    try:
        normalized = quantity.normalize(text)
    except ValueError as exc:
        raise _invalid("net_weight_kg", f"{exc}; send the net weight as a decimal string") from None
    whole, _, decimals = normalized.partition(".")
    digits = len(whole.lstrip("0")) + len(decimals)
    if len(decimals) > 5 or digits > 6:
        raise _invalid(
            "net_weight_kg",
            f"{text!r} kg cannot be carried by GS1 AI 310n: at most 6 digits,"
            " at most 5 of them after the point (e.g. 12.5 or 0.75)",
        )
    return normalized


def create_product(
    engine: Engine,
    gtin: str,
    *,
    org_id: str,
    description: str,
    unit: str,
    shelf_life_days: int | None = None,
    temp_min_c: str | None = None,
    temp_max_c: str | None = None,
    net_weight_kg: str | None = None,
) -> str:
    try:
        gtin = validate_gtin(gtin)
    except IdentifierError as exc:
        raise _invalid("gtin", str(exc)) from None
    if unit not in UNITS:
        raise _invalid("unit", f"{unit!r} is not one of {', '.join(UNITS)}")
    if net_weight_kg is not None:
        net_weight_kg = _net_weight(net_weight_kg)
    try:
        with write_transaction(engine) as conn:
            conn.execute(
                insert(Product).values(
                    gtin=gtin,
                    org_id=org_id,
                    description=description,
                    unit=unit,
                    shelf_life_days=shelf_life_days,
                    temp_min_c=temp_min_c,
                    temp_max_c=temp_max_c,
                    net_weight_kg=net_weight_kg,
                )
            )
    except IntegrityError:
        raise RuleViolation(0, f"product {gtin} already exists", "gtin") from None
    return gtin


def get_location(engine: Engine, location_id: str) -> LocationInfo:
    with read_transaction(engine) as conn:
        row = conn.execute(
            select(
                Location.id,
                Location.org_id,
                Location.name,
                Location.kind,
                Location.gln,
                Location.address,
            ).where(Location.id == location_id)
        ).first()
    if row is None:
        raise NotFound(f"location {location_id!r} does not exist")
    return LocationInfo(*row)

"""Product terms and a product's suppliers belong to one buying organisation each; the
supplier's catalogue price is its own table; an order's progress keeps why it awaits a
manager.

Before this, ``product_terms`` and ``product_suppliers`` held one row set per product,
which every organisation read and any admin or manager key could overwrite (issue 22).
Who a global row was meant for is not recorded anywhere, so each row is copied to every
organisation that relied on it: each organisation that placed an order for the product
(``order_lines`` of ``orders`` from its locations), and the organisation owning the
terms' ``supplier_location`` (a retailer's own distribution centre). A row nobody can be
found for goes to the organisation that registered the product, so nothing is lost.
Each organisation can then change or replace its copy without touching the others'.
``product_catalogue`` starts empty: the old ``unit_cost`` was a buyer's cost, not a
supplier's catalogue price.

Revision ID: terms_0011_per_organisation
Revises: 0005, 0007_product_suppliers
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "terms_0011_per_organisation"
down_revision = ("0005", "0007_product_suppliers")
branch_labels = None
depends_on = None

_TERMS = (
    "gtin",
    "case_pack",
    "min_order",
    "unit_cost",
    "unit_price",
    "removal_days",
    "supplier_location",
    "lead_time_days",
)
_SUPPLIERS = ("gtin", "supplier_location", "rank", "lead_time_days")


def _terms_table(with_org: bool) -> list[sa.Column[object]]:
    big = sa.BigInteger()
    cols: list[sa.Column[object]] = [sa.Column("org_id", sa.String(64), primary_key=True)]
    if not with_org:
        cols = []
    return [
        *cols,
        sa.Column("gtin", sa.String(14), primary_key=True),
        sa.Column("case_pack", big, nullable=False),
        sa.Column("min_order", big, nullable=False),
        sa.Column("unit_cost", big, nullable=False),
        sa.Column("unit_price", big, nullable=False),
        sa.Column("removal_days", sa.Integer(), nullable=False),
        sa.Column("supplier_location", sa.String(64), nullable=True),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
    ]


def _suppliers_table(with_org: bool) -> list[sa.Column[object]]:
    cols: list[sa.Column[object]] = [sa.Column("org_id", sa.String(64), primary_key=True)]
    if not with_org:
        cols = []
    return [
        *cols,
        sa.Column("gtin", sa.String(14), primary_key=True),
        sa.Column("supplier_location", sa.String(64), primary_key=True),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
    ]


def _owners(conn: sa.Connection, gtins: set[str]) -> dict[str, set[str]]:
    """Per product, the organisations its global terms are copied to."""
    owners: dict[str, set[str]] = defaultdict(set)
    for gtin, org in conn.execute(
        sa.text(
            "SELECT DISTINCT l.gtin, loc.org_id FROM order_lines l "
            "JOIN orders o ON o.order_id = l.order_id "
            "JOIN locations loc ON loc.id = o.buyer_location"
        )
    ):
        if gtin in gtins:
            owners[gtin].add(org)
    for gtin, org in conn.execute(
        sa.text(
            "SELECT t.gtin, loc.org_id FROM product_terms t "
            "JOIN locations loc ON loc.id = t.supplier_location"
        )
    ):
        owners[gtin].add(org)
    for gtin, org in conn.execute(sa.text("SELECT gtin, org_id FROM products")):
        if gtin in gtins and not owners.get(gtin):
            owners[gtin].add(org)
    return owners


def upgrade() -> None:
    conn = op.get_bind()
    terms = [
        tuple(r)
        for r in conn.execute(sa.text(f"SELECT {', '.join(_TERMS)} FROM product_terms"))  # noqa: S608 - constants
    ]
    suppliers = [
        tuple(r)
        for r in conn.execute(sa.text(f"SELECT {', '.join(_SUPPLIERS)} FROM product_suppliers"))  # noqa: S608 - constants
    ]
    owners = _owners(conn, {r[0] for r in terms} | {r[0] for r in suppliers})
    op.drop_table("product_terms")
    op.drop_table("product_suppliers")
    new_terms = op.create_table("product_terms", *_terms_table(True))
    new_suppliers = op.create_table("product_suppliers", *_suppliers_table(True))
    rows = [
        {"org_id": org, **dict(zip(_TERMS, row, strict=True))}
        for row in terms
        for org in sorted(owners.get(row[0], ()))
    ]
    if rows:
        op.bulk_insert(new_terms, rows)
    rows = [
        {"org_id": org, **dict(zip(_SUPPLIERS, row, strict=True))}
        for row in suppliers
        for org in sorted(owners.get(row[0], ()))
    ]
    if rows:
        op.bulk_insert(new_suppliers, rows)
    op.create_table(
        "product_catalogue",
        sa.Column("gtin", sa.String(14), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
    )
    with op.batch_alter_table("order_progress") as batch:
        batch.add_column(sa.Column("approval_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("order_progress") as batch:
        batch.drop_column("approval_reason")
    op.drop_table("product_catalogue")
    # Back to one row set per product: the lowest organisation id's copy wins.
    conn = op.get_bind()
    terms = conn.execute(
        sa.text(f"SELECT {', '.join(_TERMS)} FROM product_terms ORDER BY gtin, org_id DESC")  # noqa: S608 - constants
    ).all()
    suppliers = conn.execute(
        sa.text(f"SELECT org_id, {', '.join(_SUPPLIERS)} FROM product_suppliers ORDER BY org_id")  # noqa: S608 - constants
    ).all()
    op.drop_table("product_terms")
    op.drop_table("product_suppliers")
    old_terms = op.create_table("product_terms", *_terms_table(False))
    old_suppliers = op.create_table("product_suppliers", *_suppliers_table(False))
    by_gtin = {r[0]: dict(zip(_TERMS, r, strict=True)) for r in terms}
    if by_gtin:
        op.bulk_insert(old_terms, list(by_gtin.values()))
    first_org: dict[str, str] = {}
    kept = []
    for org, *row in suppliers:
        if first_org.setdefault(row[0], org) == org:
            kept.append(dict(zip(_SUPPLIERS, row, strict=True)))
    if kept:
        op.bulk_insert(old_suppliers, kept)

"""OpenAPI links (3.1, section 4.8.20): how a client goes from what it just created to
reading or acting on it, written once into the document the app serves.

``LINKS`` says, per creating operation and status, which operations take a value of its
answer (a runtime expression such as ``$response.body#/order_id``) as a parameter. Tools
follow them (schemathesis' stateful tests, code generators, Swagger UI shows them);
``add_links`` checks every target exists, so a renamed route cannot leave a dead link.
"""

from __future__ import annotations

from typing import Any

#: (method, path, status) -> link name -> (target method, target path, parameters).
Target = tuple[str, str, dict[str, str]]
LINKS: dict[tuple[str, str, str], dict[str, Target]] = {
    ("post", "/v1/organisations", "201"): {
        "GetOrganisation": ("get", "/v1/organisations/{org_id}", {"org_id": "$response.body#/id"}),
        "ListLocations": ("get", "/v1/locations", {"org_id": "$response.body#/id"}),
        "ListKeys": ("get", "/v1/keys", {"org_id": "$response.body#/id"}),
    },
    ("post", "/v1/locations", "201"): {
        "GetStock": ("get", "/v1/stock/{location}", {"location": "$response.body#/id"}),
        "GetInTransit": (
            "get",
            "/v1/stock/{location}/in-transit",
            {"location": "$response.body#/id"},
        ),
        "ListLocations": ("get", "/v1/locations", {"org_id": "$response.body#/org_id"}),
    },
    ("post", "/v1/products", "201"): {
        "GetProduct": ("get", "/v1/products/{gtin}", {"gtin": "$response.body#/gtin"}),
        "GetTerms": ("get", "/v1/replenishment/terms/{gtin}", {"gtin": "$response.body#/gtin"}),
        "GetSuppliers": (
            "get",
            "/v1/replenishment/terms/{gtin}/suppliers",
            {"gtin": "$response.body#/gtin"},
        ),
    },
    ("post", "/v1/keys", "201"): {
        "RevokeKey": ("delete", "/v1/keys/{key_id}", {"key_id": "$response.body#/id"}),
        "ListKeys": ("get", "/v1/keys", {"org_id": "$response.body#/org_id"}),
    },
    ("post", "/v1/events", "201"): {
        "GetCheckpoint": ("get", "/v1/log/checkpoint", {"size": "$response.body#/tree_size"}),
        "GetEntries": ("get", "/v1/log/entries", {"start": "$response.body#/receipts/0/seq"}),
        "GetInclusionProof": (
            "get",
            "/v1/log/proof/inclusion",
            {"index": "$response.body#/receipts/0/seq", "size": "$response.body#/tree_size"},
        ),
        "FindLeaf": ("get", "/v1/log/leaf", {"leaf_hash": "$response.body#/receipts/0/leaf_hash"}),
    },
    ("post", "/v1/orders", "201"): {
        name: (method, path, {"order_id": "$response.body#/order_id"})
        for name, method, path in (
            ("GetOrder", "get", "/v1/orders/{order_id}"),
            ("ApproveOrder", "post", "/v1/orders/{order_id}/approve"),
            ("ConfirmOrder", "post", "/v1/orders/{order_id}/confirm"),
            ("ShipOrder", "post", "/v1/orders/{order_id}/ship"),
            ("ReceiveOrder", "post", "/v1/orders/{order_id}/receive"),
            ("CloseOrder", "post", "/v1/orders/{order_id}/close"),
            ("CancelOrder", "post", "/v1/orders/{order_id}/cancel"),
        )
    },
    ("post", "/v1/recalls", "201"): {
        name: (method, path, {"recall_id": "$response.body#/id"})
        for name, method, path in (
            ("GetRecall", "get", "/v1/recalls/{recall_id}"),
            ("GetProgress", "get", "/v1/recalls/{recall_id}/progress.csv"),
            ("ExportRecall", "get", "/v1/recalls/{recall_id}/export.{fmt}"),
            ("ConfirmRemoval", "post", "/v1/recalls/{recall_id}/confirmations"),
            ("CloseRecall", "post", "/v1/recalls/{recall_id}/close"),
        )
    },
    ("post", "/v1/recalls/{recall_id}/confirmations", "201"): {
        "GetRecall": ("get", "/v1/recalls/{recall_id}", {"recall_id": "$request.path.recall_id"}),
    },
}


def add_links(schema: dict[str, Any]) -> None:
    """Write ``LINKS`` into the OpenAPI document's responses, targets by ``operationId``.
    A link whose source or target is not in the document is a bug: ``LookupError``."""
    paths = schema["paths"]
    for (method, path, status), links in LINKS.items():
        try:
            response = paths[path][method]["responses"][status]
        except KeyError:
            missing = f"no {status} answer of {method.upper()} {path} to link from"
            raise LookupError(missing) from None
        written = response.setdefault("links", {})
        for name, (target_method, target_path, parameters) in links.items():
            try:
                target = paths[target_path][target_method]
            except KeyError:
                missing = f"link {name}: no {target_method.upper()} {target_path}"
                raise LookupError(missing) from None
            written[name] = {"operationId": target["operationId"], "parameters": dict(parameters)}

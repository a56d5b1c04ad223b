"""One router per resource; ``api.app.ROUTERS`` lists them."""

from __future__ import annotations

from typing import Any

from api.errors import PROBLEM_MEDIA_TYPE
from api.schemas import ProblemDetail

_DESCRIPTIONS = {
    400: "Bad request: malformed JSON (with line and column), a body not in UTF-8, or a "
    "range outside the log",
    401: "Missing, unknown or revoked API key",
    403: "The key's role or organisation may not do this",
    404: "Not found (or not visible to this organisation)",
    409: "Conflicts with the ledger's state or an earlier event with the same id",
    405: "Method not allowed here; `Allow` lists the methods that are",
    413: "Request body or batch over the documented limit",
    415: "The body is not JSON in UTF-8 (`Content-Type: application/json`)",
    422: "Validation failed; `errors` lists index, field and message of each problem",
    503: "Not ready: `checks` names each readiness check and whether it passed",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for problem+json answers with these status codes."""
    schema = {"$ref": "#/components/schemas/ProblemDetail"}
    return {
        code: {
            "model": ProblemDetail,
            "description": _DESCRIPTIONS[code],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}},
        }
        for code in codes
    }


AUTH = (401, 403)

"""Content negotiation: the one parser of ``Accept`` (RFC 9110, section 12.5.1).

Every endpoint that answers in more than one media type (the front door, the GS1 Digital
Link resolver) asks ``best_match`` which of its offers the client prefers. The rules:

- each offer takes the q-value of the *most specific* range that matches it (``text/html``
  before ``text/*`` before ``*/*``), whatever the order the client listed them in, so
  ``text/html;q=0.4, */*`` ranks HTML at 0.4 and everything else at 1;
- ``q=0`` means "not acceptable"; a malformed q (``q=high``, ``q=2``, more than three
  decimals) makes its range count as ``q=0`` rather than guess;
- media types compare case-insensitively; parameters other than ``q`` are ignored (none
  of our offers carries one);
- ties go to the earlier offer (the server's preference); no header, an empty one, or one
  that accepts none of the offers gets the endpoint's default.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_QVALUE = re.compile(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")


def _ranges(accept: str) -> list[tuple[str, float]]:
    """The (media range, q) pairs of an Accept header, lower-cased, malformed q as 0."""
    ranges = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                value = value.strip()
                q = float(value) if _QVALUE.match(value) else 0.0
        ranges.append((media.lower(), q))
    return ranges


def quality(accept: str | None, offered: str) -> float:
    """The q the Accept header gives ``offered``: that of its most specific matching range
    (0 when no range matches; 1 when there is no header, which accepts anything)."""
    if accept is None:
        return 1.0
    offered = offered.lower()
    kind = offered.split("/", maxsplit=1)[0]
    specificity = {offered: 2, f"{kind}/*": 1, "*/*": 0}
    best_rank, best_q = -1, 0.0
    for media, q in _ranges(accept):
        rank = specificity.get(media, -1)
        if rank > best_rank:
            best_rank, best_q = rank, q
    return best_q


def best_match(accept: str | None, offers: Sequence[str], default: str) -> str:
    """The offer the client prefers: highest q above 0, ties to the earlier offer;
    ``default`` when the header is absent or blank or accepts none of ``offers``."""
    if accept is None or not accept.strip():
        return default
    best, best_q = default, 0.0
    for offer in offers:
        q = quality(accept, offer)
        if q > best_q:
            best, best_q = offer, q
    return best

"""The one Accept parser (api/negotiation.py) and the two endpoints that use it: the
resolver (HTML by default, JSON, RFC 9264 linkset) and the front door (JSON by default)."""

from __future__ import annotations

import pytest

from api.negotiation import best_match, quality
from api.routers.resolver import negotiate
from api.routers.service import prefers_html

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    ("accept", "offered", "q"),
    [
        ("text/html", "text/html", 1.0),
        ("TEXT/HTML", "text/html", 1.0),
        ("text/html;q=0.5", "text/html", 0.5),
        ("text/html ; Q = 0.25", "text/html", 0.25),
        # The most specific range wins, wherever it stands in the list.
        ("*/*, text/html;q=0.2", "text/html", 0.2),
        ("text/html;q=0.2, */*", "text/html", 0.2),
        ("text/html;q=0.2, */*", "application/json", 1.0),
        ("text/*;q=0.3, */*;q=0.1", "text/html", 0.3),
        ("application/json", "text/html", 0.0),
        # A malformed q counts as "not acceptable" rather than as a guess.
        ("text/html;q=high", "text/html", 0.0),
        ("text/html;q=2", "text/html", 0.0),
        ("text/html;q=0.1234", "text/html", 0.0),
        ("text/html;q=nan", "text/html", 0.0),
        ("text/html;q=1.000", "text/html", 1.0),
        (BROWSER, "application/json", 0.8),
    ],
)
def test_quality(accept: str, offered: str, q: float) -> None:
    assert quality(accept, offered) == q


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, "text/html"),
        ("", "text/html"),
        ("*/*", "text/html"),
        ("application/json", "application/json"),
        ("application/json, text/html;q=0.5", "application/json"),
        ("text/html;q=0.4, application/json;q=0.9", "application/json"),
        ("application/*", "application/json"),
        ("application/linkset+json", "application/linkset+json"),
        ("application/linkset+json;q=0.9, application/json;q=0.5", "application/linkset+json"),
        (BROWSER, "text/html"),
        # Anything but HTML: the wildcard's q=1 beats the explicit q=0.4.
        ("text/html;q=0.4, */*", "application/json"),
        ("text/html;q=0, */*", "application/json"),
        # Nothing offered is acceptable: the resolver's page.
        ("image/png", "text/html"),
        ("application/json;q=0", "text/html"),
    ],
)
def test_resolver_negotiate(accept: str | None, media: str) -> None:
    assert negotiate(accept) == media


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (None, False),
        ("", False),
        ("*/*", False),  # curl: the JSON index
        ("application/json", False),
        ("text/html", True),
        (BROWSER, True),
        ("text/html;q=0.5, application/json", False),
        ("application/json;q=0.1, text/*", True),
        ("text/html, application/json", False),  # a tie goes to JSON, the default
    ],
)
def test_front_door_prefers_html(accept: str | None, html: bool) -> None:
    assert prefers_html(accept) is html


def test_best_match_default_when_nothing_fits() -> None:
    assert best_match("image/png, text/plain", ("application/json",), "application/json") == (
        "application/json"
    )
    assert best_match("  ", ("text/html",), "application/json") == "application/json"

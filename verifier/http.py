"""The verifier's HTTP client: GET a Lotledger server's log endpoints, standard library only.

A ``Fetch`` takes a URL and returns the answer's body, or raises ``OSError`` in words (the
status, and the problem's ``detail`` when the server sent one). The log's commitments
(checkpoint, proofs) answer anyone; its entries need a regulator or admin API key, which
``http_fetcher`` sends as ``Authorization: Bearer`` and never puts in a URL or a message.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable

from verifier.errors import FormatError

__all__ = ["Fetch", "http_fetch", "http_fetcher"]

Fetch = Callable[[str], bytes]
TIMEOUT_SECONDS = 60


def http_fetch(url: str, *, api_key: str | None = None) -> bytes:
    """GET ``url`` (http or https), with ``api_key`` as a bearer token when given."""
    if not url.startswith(("http://", "https://")):
        raise FormatError(f"{url}: only http and https URLs can be audited")
    headers = {"User-Agent": "lotledger-verify/1"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - scheme checked above
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.read()  # type: ignore[no-any-return]
    except urllib.error.HTTPError as exc:
        detail = _problem_detail(exc.read(4096))
        raise OSError(f"the server answered {exc.code} {exc.reason} to {url}{detail}") from None
    except urllib.error.URLError as exc:
        raise OSError(f"cannot reach {url}: {exc.reason}") from None
    except TimeoutError:
        raise OSError(f"no answer from {url} within {TIMEOUT_SECONDS} s") from None


def http_fetcher(api_key: str | None) -> Fetch:
    """A ``Fetch`` that sends ``api_key`` (None: none) with every request."""

    def fetch(url: str) -> bytes:
        return http_fetch(url, api_key=api_key)

    return fetch


def _problem_detail(body: bytes) -> str:
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        return ""
    return f": {detail}" if isinstance(detail, str) else ""

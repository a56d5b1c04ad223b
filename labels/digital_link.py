"""GS1 Digital Link URIs, scanned element strings and EPC class URNs for a lot.

A lot is named three ways:

* on the label, by its GS1 Digital Link URI
  ``https://<resolver>/01/<GTIN-14>/10/<lot>?17=<YYMMDD>`` (GS1 Digital Link
  standard: the primary key and its key qualifier in the path, data attributes in
  the query);
* by whatever a scanner reads from a GS1 barcode: that URI, or an element string
  ``(01)...(10)...(17)...`` in human-readable form, or raw with FNC1/GS
  separators, with or without a symbology identifier such as ``]Q3``;
* in EPCIS events, by its EPC class URN ``urn:epc:class:lgtin:<company
  prefix>.<indicator><item reference>.<lot>`` (GS1 Tag Data Standard).

Scans are parsed with ``biip``; identifiers are checked with :mod:`verifier.gs1`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from urllib.parse import quote, urlsplit

from biip import ParseConfig, ParseError
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message

from labels.errors import LabelDataError, ScanError
from verifier.gs1 import CSET82, IdentifierError, check_digit, validate_gtin, validate_lot

__all__ = [
    "ScannedLot",
    "from_lgtin_urn",
    "lot_uri",
    "net_weight_ai",
    "parse_scan",
    "to_lgtin_urn",
]

# Key qualifiers of AI (01) belong in the URI path, never in the query.
_PATH_QUALIFIERS = frozenset({"22", "10", "21", "235"})
_NET_WEIGHT_KG_AIS = {f"310{n}" for n in range(6)}
_SEPARATORS = ("\x1d", "\u241d")  # ASCII GS (what scanners send for FNC1), and its visible symbol
_SCAN_CONFIG = ParseConfig(separator_chars=_SEPARATORS)
_SYMBOLOGY = re.compile(r"\][A-Za-z][0-9A-Za-z]")


def _base_url(host_or_base_url: str) -> str:
    text = host_or_base_url.strip()
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LabelDataError(
            f"resolver {host_or_base_url!r}: expected a host name or an http(s) base URL"
        )
    if parts.query or parts.fragment:
        raise LabelDataError(
            f"resolver {host_or_base_url!r}: a base URL cannot carry a query or fragment"
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def net_weight_ai(net_weight_kg: Decimal) -> tuple[str, str]:
    """AI (310n) and its 6-digit value for a net weight in kilograms.

    ``n`` is the number of decimals: the fewest that state the weight exactly,
    raised to 3 (gram resolution, the usual choice) when six digits allow it.
    """
    if not isinstance(net_weight_kg, Decimal) or not net_weight_kg.is_finite():
        raise LabelDataError(f"net weight {net_weight_kg!r}: expected a finite Decimal")
    if net_weight_kg < 0:
        raise LabelDataError(f"net weight {net_weight_kg} kg: cannot be negative")
    exponent = net_weight_kg.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite, checked above
    decimals = max(0, -exponent)
    if decimals > 5:
        raise LabelDataError(f"net weight {net_weight_kg} kg: AI 310n carries at most 5 decimals")
    while decimals < 3 and net_weight_kg.scaleb(decimals + 1) < 1_000_000:
        decimals += 1
    scaled = net_weight_kg.scaleb(decimals)
    if scaled >= 1_000_000:
        raise LabelDataError(
            f"net weight {net_weight_kg} kg: too large for the six digits of AI 310n"
        )
    return f"310{decimals}", f"{int(scaled):06d}"


def lot_uri(
    host_or_base_url: str,
    gtin: str,
    lot: str,
    *,
    expiry: date | None = None,
    net_weight_kg: Decimal | None = None,
    extra: Mapping[str, str] | None = None,
) -> str:
    """The GS1 Digital Link URI of a lot.

    ``host_or_base_url`` is a host (``id.example.com``, https assumed) or a base URL
    that may carry a path prefix (``https://example.com/dl``). The GTIN is written
    as 14 digits, the lot percent-encoded (every character outside A-Z a-z 0-9
    ``-._`` becomes ``%XX``, so ``/`` cannot split a path segment), the expiry as AI
    (17) ``YYMMDD`` and the net weight as AI (310n) in the query. ``extra`` adds
    query attributes: numeric keys must be GS1 AIs with valid values; other keys
    (``linkType``...) are passed through, percent-encoded.
    """
    base = _base_url(host_or_base_url)
    gtin14 = validate_gtin(gtin)
    lot = validate_lot(lot)
    query: list[tuple[str, str]] = []
    if expiry is not None:
        query.append(("17", f"{expiry:%y%m%d}"))
    if net_weight_kg is not None:
        query.append(net_weight_ai(net_weight_kg))
    for key, value in (extra or {}).items():
        if key.isdigit():
            if key in ("01", "17", *_PATH_QUALIFIERS) or key in _NET_WEIGHT_KG_AIS:
                raise LabelDataError(
                    f"extra attribute AI ({key}): set it through its own argument or the path"
                )
            try:
                GS1ElementString.parse(f"{key}{value}")
            except ParseError as exc:
                raise LabelDataError(f"extra attribute AI ({key})={value!r}: {exc}") from exc
        query.append((key, value))
    uri = f"{base}/01/{gtin14}/10/{quote(lot, safe='')}"
    if query:
        uri += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)
    return uri


@dataclass(frozen=True)
class ScannedLot:
    """What a scan of a lot's barcode says.

    ``ais`` holds every application identifier read, in order, as ``(ai, value)``
    pairs of raw strings; ``uri`` is set when the scan was a Digital Link URI.
    """

    gtin: str
    lot: str
    expiry: date | None = None
    net_weight_kg: Decimal | None = None
    ais: tuple[tuple[str, str], ...] = ()
    uri: str | None = None
    symbology: str | None = None

    def get(self, ai: str) -> str | None:
        """The raw value of ``ai`` in the scan, or None."""
        return next((value for key, value in self.ais if key == ai), None)


def _element_strings(text: str) -> tuple[list[GS1ElementString], str | None]:
    """Parse ``text`` (no symbology identifier) to element strings; the URI if it was one."""
    if text.lower().startswith(("http://", "https://")):
        try:
            link = GS1DigitalLinkURI.parse(text, config=_SCAN_CONFIG)
        except ParseError as exc:
            raise ScanError(f"not a GS1 Digital Link URI: {exc}") from exc
        return list(link.element_strings), text
    if text.startswith("("):
        try:
            message = GS1Message.parse_hri(text, config=_SCAN_CONFIG)
        except ParseError as exc:
            raise ScanError(f"not a GS1 element string: {exc}") from exc
        return list(message.element_strings), None
    if "://" in text:
        raise ScanError(f"scan {text!r}: a Digital Link URI must use http or https")
    try:
        message = GS1Message.parse(text, config=_SCAN_CONFIG)
    except ParseError as exc:
        raise ScanError(f"not a GS1 barcode: {exc}") from exc
    return list(message.element_strings), None


def parse_scan(text: str) -> ScannedLot:
    """Read a lot from what a scanner or a person typed.

    Accepts a Digital Link URI (any host and path prefix, with or without query
    attributes), a GS1 element string in parentheses, or a raw element string with
    GS (``\\x1d``) separators for FNC1, each optionally preceded by a symbology
    identifier (``]Q1``, ``]Q3``, ``]C1``, ``]d2``...). Raises :class:`ScanError`
    naming what is wrong: not GS1 at all, no GTIN, no lot, a bad check digit, a
    lot outside AI (10)'s rules, or conflicting repeated AIs.
    """
    if not isinstance(text, str):
        raise ScanError(f"scan {text!r}: expected text, got {type(text).__name__}")
    stripped = text.strip()
    symbology = None
    if _SYMBOLOGY.match(stripped):
        symbology, stripped = stripped[:3], stripped[3:]
    stripped = stripped.lstrip("".join(_SEPARATORS))  # a leading FNC1 is not data
    if not stripped:
        raise ScanError("scan is empty")
    elements, uri = _element_strings(stripped)
    ais: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    expiry: date | None = None
    net_weight: Decimal | None = None
    for element in elements:
        ai, value = element.ai.ai, element.value
        if seen.setdefault(ai, value) != value:
            raise ScanError(
                f"scan repeats AI ({ai}) with different values: {seen[ai]!r}, {value!r}"
            )
        ais.append((ai, value))
        if ai == "17":
            expiry = element.date
        elif ai in _NET_WEIGHT_KG_AIS:
            net_weight = element.decimal
    if "01" not in seen:
        raise ScanError(f"scan {stripped!r}: no GTIN (AI 01)")
    if "10" not in seen:
        raise ScanError(f"scan {stripped!r}: GTIN {seen['01']} has no batch/lot (AI 10)")
    try:
        gtin = validate_gtin(seen["01"])
        lot = validate_lot(seen["10"])
    except IdentifierError as exc:
        raise ScanError(f"scan {stripped!r}: {exc}") from exc
    return ScannedLot(
        gtin=gtin,
        lot=lot,
        expiry=expiry,
        net_weight_kg=net_weight,
        ais=tuple(ais),
        uri=uri,
        symbology=symbology,
    )


def parse_lot_uri(uri: str) -> ScannedLot:
    """Parse a Digital Link URI for a lot; anything else is a :class:`ScanError`."""
    if not uri.lower().startswith(("http://", "https://")):
        raise ScanError(f"{uri!r} is not an http(s) GS1 Digital Link URI")
    return parse_scan(uri)


# --- EPC class URNs (GS1 Tag Data Standard, LGTIN) ---------------------------------

_LGTIN_PREFIX = "urn:epc:class:lgtin:"
# Characters of set 82 that an EPC URI must percent-encode (TDS, table "characters
# permitted in GS1 EPC URI components"); the rest of set 82 stays as it is.
_EPC_ESCAPE = {'"': "%22", "%": "%25", "&": "%26", "/": "%2F", "<": "%3C", ">": "%3E", "?": "%3F"}
_EPC_UNESCAPE = {code: char for char, code in _EPC_ESCAPE.items()}
_EPC_TOKEN = re.compile(r"%[0-9A-Fa-f]{2}|.", re.DOTALL)


def _company_prefix_length(length: int) -> int:
    if isinstance(length, bool) or not isinstance(length, int) or not 6 <= length <= 12:
        raise IdentifierError(f"GS1 company prefix length {length!r}: expected 6 to 12 digits")
    return length


def to_lgtin_urn(gtin: str, lot: str, company_prefix_length: int) -> str:
    """The EPC class URN of a lot: ``urn:epc:class:lgtin:<prefix>.<indicator+item>.<lot>``.

    The GS1 company prefix length cannot be read off a GTIN, so the caller says it.
    """
    gtin14 = validate_gtin(gtin)
    lot = validate_lot(lot)
    length = _company_prefix_length(company_prefix_length)
    company_prefix = gtin14[1 : 1 + length]
    item = gtin14[0] + gtin14[1 + length : 13]
    escaped = "".join(_EPC_ESCAPE.get(char, char) for char in lot)
    return f"{_LGTIN_PREFIX}{company_prefix}.{item}.{escaped}"


def from_lgtin_urn(urn: str) -> tuple[str, str]:
    """The (GTIN-14, lot) named by an LGTIN EPC class URN."""
    if not isinstance(urn, str) or not urn.lower().startswith(_LGTIN_PREFIX):
        raise IdentifierError(f"EPC URN {urn!r}: expected it to start with {_LGTIN_PREFIX!r}")
    parts = urn[len(_LGTIN_PREFIX) :].split(".", 2)
    if len(parts) != 3:
        raise IdentifierError(
            f"EPC URN {urn!r}: expected <company prefix>.<indicator+item reference>.<lot>"
        )
    company_prefix, item, escaped = parts
    if not (
        company_prefix.isascii()
        and company_prefix.isdigit()
        and item.isascii()
        and (item.isdigit() or item == "")
    ):
        raise IdentifierError(f"EPC URN {urn!r}: company prefix and item reference must be digits")
    _company_prefix_length(len(company_prefix))
    if len(company_prefix) + len(item) != 13 or not item:
        raise IdentifierError(
            f"EPC URN {urn!r}: company prefix and indicator+item reference must total 13 digits,"
            f" got {len(company_prefix) + len(item)}"
        )
    chars = []
    for token in _EPC_TOKEN.findall(escaped):
        if len(token) == 3:
            char = _EPC_UNESCAPE.get(token.upper())
            if char is None:
                raise IdentifierError(f"EPC URN {urn!r}: escape {token} is not one TDS allows")
            chars.append(char)
        elif token in _EPC_ESCAPE:
            raise IdentifierError(
                f"EPC URN {urn!r}: {token!r} must be written {_EPC_ESCAPE[token]}"
            )
        elif token not in CSET82:
            raise IdentifierError(f"EPC URN {urn!r}: {token!r} is not allowed in a lot")
        else:
            chars.append(token)
    payload = item[0] + company_prefix + item[1:]
    return payload + str(check_digit(payload)), validate_lot("".join(chars))

"""EPC URIs (``urn:epc:id:sgln:0614141.00777.0``) and GS1 Digital Link URIs
(``https://id.gs1.org/414/0614141007772``) for the keys Lotledger uses.

Pure functions; each raises ``IdentifierError`` (``verifier.gs1``) with a reason in plain
words. A Digital Link URI on any domain is accepted and written back on ``id.gs1.org``
(the constrained canonical form the CBV event hash uses): its query string (``?17=...``)
and any key qualifier coarser or finer than the key itself are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from verifier.gs1 import IdentifierError, check_digit, validate_gln, validate_gtin, validate_lot

DL_HOST = "https://id.gs1.org"
#: Lotledger's own locations that have no GLN are named by this URN in EPCIS documents.
LOCATION_URN = "urn:lotledger:location:"

_EPC = re.compile(r"urn:epc:(id|class|idpat):([a-z]+):(.+)")
# The GS1 keys (with their qualifiers) the CBV hash keeps, most specific first.
_DL_KEEP = (
    ("01", "21"),
    ("01", "10"),
    ("01", "235"),
    ("414", "254"),
    ("8006", "21"),
    ("8006", "10"),
    ("8010", "8011"),
    ("00",),
    ("01",),
    ("253",),
    ("255",),
    ("401",),
    ("402",),
    ("414",),
    ("417",),
    ("8003",),
    ("8004",),
    ("8006",),
    ("8010",),
    ("8017",),
    ("8018",),
)
_DL_KEYS = frozenset(k for keys in _DL_KEEP for k in keys)
# Characters a Digital Link path segment keeps as they are (RFC 3986 unreserved, plus the
# sub-delimiters GS1's AI 82 set allows that need no escape in a path segment).
_SAFE = "-._~!$'()*+,;=:@"


@dataclass(frozen=True, slots=True)
class LotClass:
    """A lot of a trade item: EPCIS ``epcClass`` at lot level."""

    gtin: str
    lot: str


def _with_check(payload: str) -> str:
    return payload + str(check_digit(payload))


def _split(value: str, parts: int, what: str) -> list[str]:
    fields = value.split(".")
    if len(fields) != parts or not all(fields[:-1]):
        raise IdentifierError(f"{what}: expected {parts} dot-separated fields")
    return fields


def gtin_from_epc(company_prefix: str, item_ref: str, what: str) -> str:
    if not (company_prefix + item_ref).isdigit() or len(company_prefix + item_ref) != 13:
        raise IdentifierError(f"{what}: company prefix and item reference must be 13 digits")
    return _with_check(item_ref[0] + company_prefix + item_ref[1:])


def gln_from_epc(company_prefix: str, location_ref: str, what: str) -> str:
    if not (company_prefix + location_ref).isdigit() or len(company_prefix + location_ref) != 12:
        raise IdentifierError(f"{what}: company prefix and location reference must be 12 digits")
    return _with_check(company_prefix + location_ref)


def _dl_segment(value: str) -> str:
    return quote(value, safe=_SAFE)


def epc_to_digital_link(uri: str) -> str:
    """The canonical Digital Link URI of an EPC URI; other URIs are returned as they are."""
    match = _EPC.fullmatch(uri)
    if match is None:
        if uri.startswith(("http://", "https://")) and _looks_digital_link(uri):
            return normalise_digital_link(uri)
        return uri
    kind, scheme, body = match.groups()
    if kind == "idpat" and scheme == "sgtin" and body.endswith(".*"):
        cp, ir = _split(body[:-2], 2, uri)
        return f"{DL_HOST}/01/{gtin_from_epc(cp, ir, uri)}"
    if scheme in ("sgtin", "lgtin"):
        cp, ir, tail = _split(body, 3, uri)
        ai = "21" if scheme == "sgtin" else "10"
        return f"{DL_HOST}/01/{gtin_from_epc(cp, ir, uri)}/{ai}/{_dl_segment(unquote(tail))}"
    if scheme == "sgln":
        cp, lr, ext = _split(body, 3, uri)
        gln = gln_from_epc(cp, lr, uri)
        return f"{DL_HOST}/414/{gln}" + ("" if ext == "0" else f"/254/{_dl_segment(unquote(ext))}")
    if scheme == "pgln":
        cp, pr = _split(body, 2, uri)
        return f"{DL_HOST}/417/{gln_from_epc(cp, pr, uri)}"
    if scheme in ("gdti", "grai"):
        cp, ref, serial = body.split(".", 2) if body.count(".") >= 2 else ("", "", "")
        if not (cp + ref).isdigit() or len(cp + ref) != 12:
            raise IdentifierError(f"{uri}: company prefix and reference must be 12 digits")
        key = _with_check(cp + ref)
        ai, lead = ("253", "") if scheme == "gdti" else ("8003", "0")
        return f"{DL_HOST}/{ai}/{lead}{key}{_dl_segment(unquote(serial))}"
    if scheme == "giai":
        cp, ref = body.split(".", 1) if "." in body else ("", "")
        return f"{DL_HOST}/8004/{cp}{_dl_segment(unquote(ref))}"
    if scheme == "sscc":
        cp, sr = _split(body, 2, uri)
        digits = sr[0] + cp + sr[1:]
        if not digits.isdigit() or len(digits) != 17:
            raise IdentifierError(f"{uri}: an SSCC has 17 digits before its check digit")
        return f"{DL_HOST}/00/{_with_check(digits)}"
    return uri


def _looks_digital_link(uri: str) -> bool:
    path = urlsplit(uri).path.split("/")
    return any(p in _DL_KEYS for p in path)


def normalise_digital_link(uri: str) -> str:
    """``uri`` on id.gs1.org, without its query string, keeping only the finest key."""
    parts = [unquote(p) for p in urlsplit(uri).path.split("/") if p]
    pairs: dict[str, str] = {}
    # The GS1 keys come last in a Digital Link path (a custom path prefix may precede them).
    for i in range(len(parts) - 1):
        if parts[i].isdigit() and i + 1 < len(parts):
            pairs.setdefault(parts[i], parts[i + 1])
    for keys in _DL_KEEP:
        if all(k in pairs for k in keys):
            values = []
            for k in keys:
                value = pairs[k]
                if k == "01" and value.isdigit() and len(value) < 14:
                    value = value.zfill(14)
                values.append(f"{k}/{_dl_segment(value)}")
            return f"{DL_HOST}/" + "/".join(values)
    raise IdentifierError(f"{uri}: no GS1 key in this Digital Link URI")


def lot_class(uri: str) -> LotClass:
    """The GTIN (14 digits, check digit checked) and lot of an ``epcClass``: an LGTIN
    (``urn:epc:class:lgtin:4012345.012345.998877``) or a Digital Link URI with AI 01 and
    AI 10. Raises ``IdentifierError`` for anything else (a class without a lot, an SGTIN)."""
    if uri.startswith("urn:epc:class:lgtin:"):
        cp, ir, lot = _split(uri.removeprefix("urn:epc:class:lgtin:"), 3, uri)
        gtin = gtin_from_epc(cp, ir, uri)
        lot = unquote(lot)
    elif uri.startswith(("http://", "https://")):
        canonical = normalise_digital_link(uri)
        path = canonical.removeprefix(DL_HOST + "/").split("/")
        if len(path) != 4 or path[0] != "01" or path[2] != "10":
            raise IdentifierError(f"{uri}: a lot-level class needs a GTIN (01) and a lot (10)")
        gtin, lot = path[1], unquote(path[3])
    else:
        raise IdentifierError(
            f"{uri}: not a lot-level class; give urn:epc:class:lgtin:... or a Digital Link "
            "URI with a GTIN and a lot"
        )
    return LotClass(validate_gtin(gtin), validate_lot(lot))


def lgtin(gtin: str, lot: str, company_prefix_length: int = 7) -> str:
    """The LGTIN EPC class URI of a lot (``urn:epc:class:lgtin:CompanyPrefix.ItemRef.Lot``).
    The company prefix length is not in a GTIN; GS1 US's 7 digits is assumed."""
    body = gtin[1:13]
    cp, ir = body[:company_prefix_length], gtin[0] + body[company_prefix_length:]
    return f"urn:epc:class:lgtin:{cp}.{ir}.{quote(lot, safe='-._')}"


def gln_of_location(uri: str) -> str:
    """The GLN of an SGLN (extension ``0``) or of a Digital Link URI with AI 414; the
    location id of a ``urn:lotledger:location:`` URN."""
    if uri.startswith(LOCATION_URN):
        return uri.removeprefix(LOCATION_URN)
    if uri.startswith("urn:epc:id:sgln:"):
        cp, lr, ext = _split(uri.removeprefix("urn:epc:id:sgln:"), 3, uri)
        if ext != "0":
            raise IdentifierError(f"{uri}: a sub-location (extension {ext}) is not a location")
        return gln_from_epc(cp, lr, uri)
    if uri.startswith(("http://", "https://")):
        path = normalise_digital_link(uri).removeprefix(DL_HOST + "/").split("/")
        if path[0] in ("414", "417") and len(path) == 2:
            return validate_gln(path[1])
    raise IdentifierError(
        f"{uri}: not a location; give an SGLN (urn:epc:id:sgln:...) or a Digital Link URI "
        "with AI 414"
    )


def sgln(gln: str, company_prefix_length: int = 7) -> str:
    """The SGLN EPC URI of a GLN (extension 0)."""
    return f"urn:epc:id:sgln:{gln[:company_prefix_length]}.{gln[company_prefix_length:12]}.0"

"""CBV 2.0 vocabulary: bare words (as EPCIS JSON writes them) and their GS1 Web URIs."""

from __future__ import annotations

CBV = "https://ref.gs1.org/cbv/"

#: The prefix each CBV vocabulary's Web URIs carry, by the field that holds its words.
WEB_PREFIX = {
    "bizStep": CBV + "BizStep-",
    "disposition": CBV + "Disp-",
    "bizTransaction": CBV + "BTT-",
    "sourceOrDestination": CBV + "SDT-",
    "errorReason": CBV + "ER-",
}
#: The URN forms EPCIS 1.x used, by the same fields.
URN_PREFIX = {
    "bizStep": "urn:epcglobal:cbv:bizstep:",
    "disposition": "urn:epcglobal:cbv:disp:",
    "bizTransaction": "urn:epcglobal:cbv:btt:",
    "sourceOrDestination": "urn:epcglobal:cbv:sdt:",
    "errorReason": "urn:epcglobal:cbv:er:",
}

#: The CURIE prefixes every EPCIS 2.0 document may use without declaring them.
STANDARD_PREFIXES = {
    "gs1": "https://gs1.org/voc/",
    "cbv": CBV,
    "epcis": "https://ref.gs1.org/epcis/",
    "cbvmda": "urn:epcglobal:cbv:mda:",
}

#: Our units and their UN/ECE Recommendation 20 codes (EPCIS ``uom``). ``each`` is also a
#: quantity without ``uom`` (a count of instances), which is how we write it.
UOM = {
    "kg": "KGM",
    "g": "GRM",
    "lb": "LBR",
    "oz": "ONZ",
    "l": "LTR",
    "ml": "MLT",
    "case": "CS",
    "pallet": "PF",
    "each": "EA",
}
UNIT_OF_UOM = {code: unit for unit, code in UOM.items()}


def bare(field: str, value: str) -> str:
    """A CBV word in the bare form EPCIS JSON uses (``shipping``), from any of its forms."""
    for prefix in (WEB_PREFIX[field], URN_PREFIX[field]):
        if value.startswith(prefix):
            return value[len(prefix) :]
    if value.startswith("cbv:"):
        tail = value[4:]
        head = WEB_PREFIX[field][len(CBV) :]
        return tail.removeprefix(head)
    return value


def web_uri(field: str, value: str) -> str:
    """The Web URI of a CBV word (``https://ref.gs1.org/cbv/BizStep-shipping``); a value
    that is already a URI of another vocabulary (a user's own) stays as it is."""
    word = bare(field, value)
    if ":" in word:
        return word
    return WEB_PREFIX[field] + word

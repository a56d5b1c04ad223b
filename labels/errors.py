"""The labels package's errors.

LabelError                        root: anything the labels package refuses
├── ScanError                     scanned text that is not a usable GS1 lot code
│                                 (also a verifier.gs1.IdentifierError / ValueError)
├── LabelDataError                label fields that disagree or cannot be encoded
│                                 (also a ValueError)
└── LabelFontError                no font with real glyphs for the text is installed
"""

from __future__ import annotations

from verifier.gs1 import IdentifierError


class LabelError(Exception):
    """Root of every error the labels package raises."""


class ScanError(LabelError, IdentifierError):
    """Scanned or typed text that is not a GS1 Digital Link / element string for a lot."""


class LabelDataError(LabelError, ValueError):
    """Label fields that are inconsistent, or that a format cannot encode."""


class LabelFontError(LabelError):
    """No installed font can draw the label's text with real glyphs."""

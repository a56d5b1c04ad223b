"""Label rendering entry points: PNG for thermal printers and screens, PDF, ZPL II.

render_png(label, dpi=203|300, size="4x6"|"4x3"|"4x2") -> bytes
render_pdf(labels, stock="4x6"|"a4"|"letter") -> bytes
render_zpl(label, dpi=203|300, size=..., unicode_font=None) -> str
"""

from __future__ import annotations

from labels.layout import PNG_STOCKS
from labels.pdf import SHEETS, render_pdf
from labels.png import DPIS, render_png
from labels.zpl import render_zpl

__all__ = ["DPIS", "PNG_STOCKS", "SHEETS", "render_pdf", "render_png", "render_zpl"]

"""The one font labels are set in, with real glyphs for Latin and Chinese text.

Labels carry product names in any script the shippers use, Chinese included, and a
missing glyph must never print as a tofu box. Both renderers need the same file:
Pillow draws it for PNG and reportlab embeds a subset in PDFs. reportlab embeds
TrueType outlines only (``glyf``), not CFF, which rules out Noto Sans CJK (.otf/.ttc
are CFF). WenQuanYi Micro Hei (Debian ``fonts-wqy-microhei``, Apache-2.0 or GPLv3
with the font exception) is TrueType, covers GB 18030's common hanzi, kana, Hangul
and Latin, and is 5 MB; Droid Sans Fallback and WenQuanYi Zen Hei are accepted as
alternatives.

Lookup order: ``$LOTLEDGER_LABEL_FONT`` (a .ttf/.ttc path, ``path#index`` for a
collection member), the known Debian paths, then ``fc-match`` for a Chinese
sans-serif. Whatever is found must have TrueType outlines and map the test
characters, or :class:`LabelFontError` says what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

from labels.errors import LabelFontError

__all__ = ["LabelFont", "label_font", "missing_glyphs"]

FONT_ENV = "LOTLEDGER_LABEL_FONT"
INSTALL_HINT = "apt-get install fonts-wqy-microhei"
KNOWN_FONTS = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
)
# Characters every label font must draw: Latin, digits, GS1 set 82 symbols, hanzi.
PROBE = "AZaz09%/-.生菜"


@dataclass(frozen=True)
class LabelFont:
    path: str
    index: int

    def pil(self, size_px: int) -> ImageFont.FreeTypeFont:
        """The font at ``size_px`` pixels for Pillow (cached)."""
        return _pil_font(self.path, self.index, size_px)

    def covers(self, text: str) -> bool:
        return not missing_glyphs(self, text)


@lru_cache(maxsize=256)
def _pil_font(path: str, index: int, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size_px, index=index, layout_engine=ImageFont.Layout.BASIC)


@lru_cache(maxsize=8)
def _cmap(path: str, index: int) -> frozenset[int]:
    from reportlab.pdfbase.ttfonts import TTFontFile  # noqa: PLC0415 (only needed once)

    try:
        parsed = TTFontFile(path, subfontIndex=index)
    except Exception as exc:  # reportlab raises TTFError and struct/IO errors alike
        raise LabelFontError(
            f"label font {path}#{index} cannot be embedded in PDF ({exc}); it needs TrueType"
            f" outlines. Install one: {INSTALL_HINT}"
        ) from exc
    return frozenset(parsed.charToGlyph)


def missing_glyphs(font: LabelFont, text: str) -> str:
    """The characters of ``text`` (other than whitespace) the font has no glyph for."""
    cmap = _cmap(font.path, font.index)
    return "".join(sorted({c for c in text if not c.isspace() and ord(c) not in cmap}))


def _candidates() -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    env = os.environ.get(FONT_ENV)
    if env:
        path, _, index = env.partition("#")
        found.append((path, int(index or 0)))
    found.extend(KNOWN_FONTS)
    fc_match = shutil.which("fc-match")
    if fc_match:
        result = subprocess.run(  # noqa: S603 (fixed arguments, fc-match found on PATH)
            [fc_match, "-f", "%{file}#%{index}", "sans-serif:lang=zh-cn:fontformat=TrueType"],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
        path, _, index = result.stdout.strip().partition("#")
        if path:
            found.append((path, int(index or 0)))
    return found


@lru_cache(maxsize=1)
def label_font() -> LabelFont:
    """The label font, or :class:`LabelFontError` if none with real CJK glyphs is installed."""
    rejected = []
    for path, index in _candidates():
        if not Path(path).is_file():
            continue
        font = LabelFont(path, index)
        try:
            missing = missing_glyphs(font, PROBE)
        except LabelFontError as exc:
            rejected.append(str(exc))
            continue
        if not missing:
            return font
        rejected.append(f"{path}#{index} lacks {missing!r}")
    detail = f" (rejected: {'; '.join(rejected)})" if rejected else ""
    raise LabelFontError(
        f"no label font with TrueType outlines for Latin and Chinese text is installed{detail};"
        f" install one ({INSTALL_HINT}) or set {FONT_ENV} to a .ttf/.ttc path"
    )

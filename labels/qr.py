"""QR code matrices for labels, built on ``qrcode`` but fast enough for label runs.

``qrcode`` picks the mask the way ISO/IEC 18004 asks (lowest penalty of all
eight) by laying out the symbol eight times in pure Python, which dominates a
label's rendering. Here ``qrcode`` still does the parts that need care (mode
selection, version fit, Reed-Solomon codewords, function patterns, format and
version bits); the per-version geometry is cached, and the eight candidate masks
are applied and scored on rows held as integers. The result is the same matrix
``qrcode`` makes (tests compare them module for module), much faster (figures:
docs/benchmarks-history.md, "Figures from the code").

Error correction: level Q (25 % of codewords recoverable). Warehouse labels get
scuffed by pallet wrap, smeared by forklift tyres, crossed by tape and printed by
thermal heads with the odd dead dot line; level M (15 %) leaves too little margin
for that and level H (30 %) grows the symbol a version or two for a small gain.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass
from functools import lru_cache

from qrcode import QRCode, base, constants, exceptions, util

__all__ = ["QUIET_ZONE_MODULES", "QrMatrix", "qr_matrix"]

ERROR_CORRECTION = constants.ERROR_CORRECT_Q
ERROR_CORRECTION_LETTER = "Q"
#: ISO/IEC 18004 requires a light margin of 4 modules on every side.
QUIET_ZONE_MODULES = 4

_RUNS = re.compile(r"0{5,}|1{5,}")
# Finder-like 1:1:3:1:1 with 4 light modules after or before; neither overlaps itself,
# so str.count finds every occurrence.
_FINDER_LIKE = ("10111010000", "00001011101")


@dataclass(frozen=True)
class QrMatrix:
    """A QR symbol without its quiet zone: ``rows[r] >> (size - 1 - c) & 1`` is module (r, c)."""

    version: int
    mask: int
    size: int
    rows: tuple[int, ...]

    def dark(self, row: int, col: int) -> bool:
        return bool(self.rows[row] >> (self.size - 1 - col) & 1)

    def to_lists(self) -> list[list[bool]]:
        return [[self.dark(r, c) for c in range(self.size)] for r in range(self.size)]

    def runs(self) -> list[tuple[int, int, int]]:
        """Dark runs as ``(row, first column, length)``: one rectangle each when drawn."""
        out: list[tuple[int, int, int]] = []
        for r, row in enumerate(self.rows):
            bits = format(row, f"0{self.size}b")
            out.extend((r, m.start(), m.end() - m.start()) for m in re.finditer("1+", bits))
        return out


def _rows_of(modules: list[list[bool | None]]) -> list[int]:
    return [int("".join("1" if m else "0" for m in row), 2) for row in modules]


@dataclass(frozen=True)
class _Geometry:
    size: int
    data_rows: tuple[int, ...]  # 1 where a module carries data
    order: tuple[tuple[int, int], ...]  # (row, bit shift) of each data bit, in placement order
    function_test: tuple[int, ...]  # function patterns, format/version areas light (scoring)
    function_final: tuple[tuple[int, ...], ...]  # function patterns with format bits, per mask
    mask_rows: tuple[tuple[int, ...], ...]  # per mask, 1 where the mask flips a data module


def _function_modules(version: int, test: bool, mask: int) -> list[list[bool | None]]:
    code = QRCode(version=version, error_correction=ERROR_CORRECTION, border=0)
    code.modules_count = size = version * 4 + 17
    code.modules = [[None] * size for _ in range(size)]
    code.setup_position_probe_pattern(0, 0)
    code.setup_position_probe_pattern(size - 7, 0)
    code.setup_position_probe_pattern(0, size - 7)
    code.setup_position_adjust_pattern()
    code.setup_timing_pattern()
    code.setup_type_info(test, mask)
    if version >= 7:
        code.setup_type_number(test)
    modules: list[list[bool | None]] = code.modules
    return modules


@lru_cache(maxsize=40)
def _geometry(version: int) -> _Geometry:
    size = version * 4 + 17
    blank = _function_modules(version, True, 0)
    data_rows = [int("".join("1" if m is None else "0" for m in row), 2) for row in blank]
    # Zig-zag placement of ISO/IEC 18004 section 7.7.3, as qrcode.main.map_data does it.
    order: list[tuple[int, int]] = []
    row, step = size - 1, -1
    for right in range(size - 1, 0, -2):
        col0 = right - 1 if right <= 6 else right
        while 0 <= row < size:
            for col in (col0, col0 - 1):
                if blank[row][col] is None:
                    order.append((row, size - 1 - col))
            row += step
        row -= step
        step = -step
    masks = []
    for mask in range(8):
        func = util.mask_func(mask)
        masks.append(
            tuple(
                sum(1 << (size - 1 - c) for c in range(size) if func(r, c)) & data_rows[r]
                for r in range(size)
            )
        )
    return _Geometry(
        size=size,
        data_rows=tuple(data_rows),
        order=tuple(order),
        function_test=tuple(_rows_of(blank)),
        function_final=tuple(
            tuple(_rows_of(_function_modules(version, False, mask))) for mask in range(8)
        ),
        mask_rows=tuple(masks),
    )


class _Bits(util.BitBuffer):
    """``qrcode.util.BitBuffer`` on one integer instead of a list of bytes filled bit by bit:
    what ``QRData.write`` writes a segment into. Read ``value`` and ``length``."""

    def __init__(self) -> None:
        self.buffer = []  # unused: the bits are in ``value``
        self.value = 0
        self.length = 0

    def put(self, num: int, length: int) -> None:
        self.value = (self.value << length) | (num & ((1 << length) - 1))
        self.length += length

    def put_bit(self, bit: bool) -> None:
        self.put(int(bit), 1)

    def get(self, index: int) -> bool:
        return bool(self.value >> (self.length - 1 - index) & 1)


# GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1.
_EXP = [0] * 512
_LOG = [0] * 256
_x = 1
for _i in range(255):
    _EXP[_i] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0x100:
        _x ^= 0x11D
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]


@lru_cache(maxsize=64)
def _rs_table(degree: int) -> tuple[int, ...]:
    """For each byte f, f times the generator polynomial (monic term dropped), packed in an int."""
    generator = [1]
    for i in range(degree):
        nxt = [0] * (len(generator) + 1)
        for j, coefficient in enumerate(generator):
            nxt[j] ^= coefficient
            if coefficient:
                nxt[j + 1] ^= _EXP[_LOG[coefficient] + i]
        generator = nxt
    tail = generator[1:]
    table = [0]
    for factor in range(1, 256):
        product = bytes(_EXP[_LOG[factor] + _LOG[g]] if g else 0 for g in tail)
        table.append(int.from_bytes(product, "big"))
    return tuple(table)


def _ec_codewords(data: bytes, degree: int) -> bytes:
    table = _rs_table(degree)
    shift = 8 * (degree - 1)
    mask = (1 << (8 * degree)) - 1
    remainder = 0
    for byte in data:
        factor = byte ^ (remainder >> shift)
        remainder = ((remainder << 8) & mask) ^ table[factor]
    return remainder.to_bytes(degree, "big")


def _best_fit(data_list: list[util.QRData]) -> int:
    """Smallest version holding the data: ``QRCode.best_fit`` without its bit-by-bit buffer."""
    start = 1
    while True:
        sizes = util.mode_sizes_for_version(start)
        bits = _Bits()
        for segment in data_list:
            bits.put(segment.mode, 4)
            bits.put(len(segment), sizes[segment.mode])
            segment.write(bits)
        version = bisect.bisect_left(util.BIT_LIMIT_TABLE[ERROR_CORRECTION], bits.length, start)
        if version > 40:
            raise exceptions.DataOverflowError(f"{bits.length} bits do not fit a QR code")
        if util.mode_sizes_for_version(version) is sizes:
            return version
        start = version


def _codewords(version: int, data_list: list[util.QRData]) -> bytes:
    """Data and error correction codewords, interleaved (as ``qrcode.util.create_data``)."""
    bits = _Bits()
    for segment in data_list:
        bits.put(segment.mode, 4)
        bits.put(len(segment), util.length_in_bits(segment.mode, version))
        segment.write(bits)
    blocks = base.rs_blocks(version, ERROR_CORRECTION)
    limit = sum(block.data_count * 8 for block in blocks)
    if bits.length > limit:  # best_fit chose the version, so this cannot happen
        raise ValueError(f"QR data of {bits.length} bits exceeds {limit}")
    bits.put(0, min(limit - bits.length, 4))
    bits.put(0, -bits.length % 8)
    padded = bits.value.to_bytes(bits.length // 8, "big")
    padded += (b"\xec\x11" * limit)[: limit // 8 - len(padded)]
    data_blocks, ec_blocks, offset = [], [], 0
    for block in blocks:
        chunk = padded[offset : offset + block.data_count]
        offset += block.data_count
        data_blocks.append(chunk)
        ec_blocks.append(_ec_codewords(chunk, block.total_count - block.data_count))
    out = bytearray()
    for group in (data_blocks, ec_blocks):
        for i in range(max(map(len, group))):
            out.extend(chunk[i] for chunk in group if i < len(chunk))
    return bytes(out)


def _penalty(rows: list[int], size: int) -> int:
    """ISO/IEC 18004 mask penalty, computed the way ``qrcode.util.lost_point`` does."""
    lines = [format(r, f"0{size}b") for r in rows]
    # Rows and columns joined by a separator that no pattern matches across.
    text = "2".join(lines) + "2" + "2".join(map("".join, zip(*lines, strict=True)))
    runs = _RUNS.findall(text)
    score = sum(map(len, runs)) - 2 * len(runs)
    score += 40 * sum(text.count(pattern) for pattern in _FINDER_LIKE)
    full = (1 << (size - 1)) - 1  # n-1 wide: 2x2 blocks anchored at columns 0..n-2
    for top, bottom in itertools.pairwise(rows):
        same_vertical = ~(top ^ bottom)
        block = same_vertical & (same_vertical >> 1) & ~(top ^ (top >> 1)) & full
        score += 3 * block.bit_count()
    dark = sum(r.bit_count() for r in rows)
    score += 10 * int(abs(dark * 100 / size**2 - 50) / 5)
    return score


@lru_cache(maxsize=256)
def qr_matrix(data: str) -> QrMatrix:
    """The QR symbol (error correction level Q, best mask) for ``data``."""
    code = QRCode(error_correction=ERROR_CORRECTION, border=0)
    code.add_data(data)
    version = _best_fit(code.data_list)
    geometry = _geometry(version)
    codewords = _codewords(version, code.data_list)
    bits = "".join(format(b, "08b") for b in codewords)
    placed = [0] * geometry.size
    for (row, shift), bit in zip(geometry.order, bits, strict=False):
        if bit == "1":
            placed[row] |= 1 << shift
    best_mask, best_score = 0, -1
    for mask, mask_rows in enumerate(geometry.mask_rows):
        rows = [
            f | (p ^ m) for f, p, m in zip(geometry.function_test, placed, mask_rows, strict=True)
        ]
        score = _penalty(rows, geometry.size)
        if best_score < 0 or score < best_score:
            best_mask, best_score = mask, score
    final = tuple(
        f | (p ^ m)
        for f, p, m in zip(
            geometry.function_final[best_mask], placed, geometry.mask_rows[best_mask], strict=True
        )
    )
    return QrMatrix(version=version, mask=best_mask, size=geometry.size, rows=final)

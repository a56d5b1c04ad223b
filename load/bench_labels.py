"""Label rendering throughput: ``python -m load.bench labels [--json]``.

Figures (single process, one core):

* ``png_per_s``: 4x6 in PNG labels per second at 203 dpi, one process;
* ``png_per_s_parallel``: the same with one worker process per CPU (``--workers``),
  as a print server rendering a label run would;
* ``pdf_1000_s``: seconds for one PDF of 1,000 labels on an office sheet (A4 2x4 by
  default);
* ``zpl_per_s``: ZPL labels per second.

Every label has its own lot, so no QR code is reused from a cache, and product
names alternate between Latin and Chinese.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta

from labels import LabelData, render_pdf, render_png, render_zpl
from labels.qr import qr_matrix

PRODUCTS = [
    "Romaine lettuce hearts, washed, 3 pack",
    "有机生菜 罗马生菜心 三颗装",
    "Extra virgin olive oil 1 L, cold pressed",
    "Jasmine rice 5 kg 茉莉香米",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--png-count", type=int, default=400, help="PNG labels to render")
    parser.add_argument("--zpl-count", type=int, default=2000, help="ZPL labels to render")
    parser.add_argument("--pdf-count", type=int, default=1000, help="labels in the PDF")
    parser.add_argument("--stock", default="a4", choices=["a4", "letter", "4x6"])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)


def make_labels(count: int, run: str) -> list[LabelData]:
    return [
        LabelData.for_lot(
            "https://id.example.com",
            gtin="09506000134352",
            lot=f"{run}{i:06d}/B",
            product=PRODUCTS[i % len(PRODUCTS)],
            expiry=date(2026, 12, 31) - timedelta(days=i % 300),
            origin="Almería, ES",
            quantity=str(6 + i % 7),
            unit="kg",
        )
        for i in range(count)
    ]


def _render_chunk(run: str, count: int) -> int:
    for label in make_labels(count, run):
        render_png(label, dpi=203, size="4x6")
    return count


def _parallel_png(count: int, workers: int) -> float:
    chunk = 50
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_render_chunk, [f"W{i}" for i in range(workers)], [2] * workers))
        start = time.perf_counter()
        runs = [f"X{i}" for i in range(count // chunk)]
        done = sum(pool.map(_render_chunk, runs, [chunk] * len(runs)))
        seconds = time.perf_counter() - start
    return _rate(done, seconds)


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1)


def run(args: argparse.Namespace) -> dict[str, object]:
    render_png(make_labels(1, "W")[0])  # load the font and caches once
    labels = make_labels(args.png_count, "P")
    start = time.perf_counter()
    for label in labels:
        render_png(label, dpi=203, size="4x6")
    png_s = time.perf_counter() - start

    labels = make_labels(args.zpl_count, "Z")
    start = time.perf_counter()
    for label in labels:
        render_zpl(label, dpi=203, size="4x6", unicode_font="E:SIMSUN.TTF")
    zpl_s = time.perf_counter() - start

    labels = make_labels(args.pdf_count, "D")
    start = time.perf_counter()
    pdf = render_pdf(labels, stock=args.stock)
    pdf_s = time.perf_counter() - start

    qr_matrix.cache_clear()
    labels = make_labels(200, "Q")
    start = time.perf_counter()
    for label in labels:
        qr_matrix(label.uri)
    qr_s = time.perf_counter() - start
    return {
        "png_per_s": _rate(args.png_count, png_s),
        "png_per_s_parallel": _parallel_png(args.png_count * 2, args.workers),
        "workers": args.workers,
        "zpl_per_s": _rate(args.zpl_count, zpl_s),
        f"pdf_{args.pdf_count}_s": round(pdf_s, 2),
        "pdf_stock": args.stock,
        "pdf_bytes": len(pdf),
        "qr_matrix_ms": round(qr_s / 200 * 1000, 2),
    }

"""``lotledger labels``: print labels for many lots straight from the database.

    lotledger labels --lot 09506000134352/L2311A --lot ... --out labels.pdf
    lotledger labels --all --format pdf --stock a4 --out all.pdf
    lotledger labels --from-file lots.txt --format png --dpi 300 --out labels/
    lotledger labels --from-file lots.txt --format zpl --out labels.zpl

Lots are named ``GTIN/LOT`` or by a scanned Digital Link URI or element string (one a line
in ``--from-file``, ``-`` for standard input; blank lines and ``#`` comments skipped).
``--format pdf`` writes one file (``--stock 4x6`` one label a page, ``a4``/``letter``
sheets); ``zpl`` one file of concatenated labels; ``png`` one file per lot into the
``--out`` directory. The QR codes point at ``--resolver`` (env LOTLEDGER_RESOLVER_BASE).
A progress bar is drawn on standard error for batches of 20 lots or more.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from api.commands import add_database_options, open_ledger
from api.labelling import RESOLVER_BASE_ENV, configured_resolver_base, label_file_name, lot_label
from labels import LabelData, render_pdf, render_png, render_zpl
from labels.digital_link import parse_scan
from labels.errors import LabelError
from labels.layout import PNG_STOCKS
from labels.pdf import SHEETS
from labels.png import DPIS
from ledger import Ledger, LedgerError
from verifier.gs1 import IdentifierError

PROGRESS_FROM = 20


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "labels",
        help="print lot labels (PDF sheets, PNG, ZPL) for one or many lots",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--lot", action="append", metavar="GTIN/LOT", help="a lot (repeatable)")
    which.add_argument("--all", action="store_true", help="every lot in the ledger")
    which.add_argument("--from-file", metavar="FILE", help="lots one a line ('-': stdin)")
    parser.add_argument("--format", choices=("pdf", "png", "zpl"), default="pdf")
    parser.add_argument(
        "--stock",
        help=f"pdf: {', '.join(sorted(SHEETS))} (default a4); "
        f"png/zpl label size: {', '.join(PNG_STOCKS)} (default 4x6)",
    )
    parser.add_argument("--dpi", type=int, choices=DPIS, default=203, help="png/zpl")
    parser.add_argument(
        "--font",
        metavar="DRIVE:FILE.TTF",
        help="zpl: a TrueType font stored on the printer, for names outside Latin-1"
        " (e.g. E:SIMSUN.TTF)",
    )
    parser.add_argument(
        "--resolver",
        help=f"base URL of the QR codes (env {RESOLVER_BASE_ENV}), e.g. https://id.example.com",
    )
    parser.add_argument(
        "--out", required=True, help="output file (pdf, zpl) or directory (png); '-' for stdout"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_database_options(parser)
    parser.set_defaults(handler=run)


class Progress:
    """A one-line progress bar on a stream: ``labels [#####.....] 50/100``."""

    def __init__(self, total: int, stream: TextIO, *, enabled: bool, width: int = 30) -> None:
        self.total, self.stream, self.width = total, stream, width
        self.enabled = enabled and total >= PROGRESS_FROM
        self.done = 0
        self._drawn = -1.0

    def step(self, count: int = 1) -> None:
        self.done += count
        if not self.enabled:
            return
        now = time.monotonic()
        if self.done < self.total and now - self._drawn < 0.1:
            return
        self._drawn = now
        filled = self.width * self.done // max(self.total, 1)
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\rlabels [{bar}] {self.done}/{self.total}")
        if self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def _named(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    for raw in lines:
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        if "://" in text or text.startswith(("(", "]")):
            scanned = parse_scan(text)
            yield scanned.gtin, scanned.lot
            continue
        gtin, sep, lot = text.partition("/")
        if not sep or not lot:
            raise LabelError(f"{text!r}: expected GTIN/LOT or a lot's Digital Link URI")
        yield gtin.strip(), lot


def all_lots(ledger: Ledger) -> Iterator[tuple[str, str]]:
    """Every lot the log has registered or produced, in log order (read from the log)."""
    seen: set[tuple[str, str]] = set()
    for entry in ledger.iter_entries():
        if b'"register"' not in entry.leaf_bytes and b'"transform"' not in entry.leaf_bytes:
            continue
        event = entry.envelope()["event"]
        if event["type"] == "register":
            found = [event["lot"]]
        elif event["type"] == "transform":
            found = [output["lot"] for output in event["outputs"]]
        else:
            continue
        for ref in found:
            key = (ref["gtin"], ref["lot"])
            if key not in seen:
                seen.add(key)
                yield key


def _stock(args: argparse.Namespace) -> str:
    allowed = SHEETS if args.format == "pdf" else PNG_STOCKS
    stock = args.stock or ("a4" if args.format == "pdf" else "4x6")
    if stock not in allowed:
        raise LabelError(f"--stock {stock!r} for {args.format}: expected one of {sorted(allowed)}")
    return str(stock)


def run(args: argparse.Namespace) -> int:
    base = args.resolver or configured_resolver_base()
    if not base:
        print(
            "lotledger labels: say where the QR codes point: "
            f"--resolver URL or {RESOLVER_BASE_ENV}",
            file=sys.stderr,
        )
        return 2
    try:
        stock = _stock(args)
        ledger = open_ledger(args)
        try:
            return _write(ledger, args, base, stock)
        finally:
            ledger.close()
    except (IdentifierError, LabelError, LedgerError, OSError) as exc:
        print(f"\nlotledger labels: {exc}", file=sys.stderr)
        return 1


def _write(ledger: Ledger, args: argparse.Namespace, base: str, stock: str) -> int:
    if args.all:
        names = list(all_lots(ledger))
    elif args.from_file:
        if args.from_file == "-":
            names = list(_named(iter(sys.stdin)))
        else:
            with open(args.from_file, encoding="utf-8") as lines:
                names = list(_named(lines))
    else:
        names = list(_named(iter(args.lot)))
    if not names:
        print("lotledger labels: no lots to print", file=sys.stderr)
        return 1
    progress = Progress(len(names), sys.stderr, enabled=not args.quiet)
    out = Path(args.out)
    if args.format == "png":
        out.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    labels: list[LabelData] = []
    zpl: list[str] = []
    for gtin, lot in names:
        label = lot_label(ledger, base, gtin, lot, viewer=None)
        if args.format == "pdf":
            labels.append(label)
        elif args.format == "zpl":
            zpl.append(render_zpl(label, dpi=args.dpi, size=stock, unicode_font=args.font))
        else:
            path = out / label_file_name(label, "png")
            path.write_bytes(render_png(label, dpi=args.dpi, size=stock))
            written.append(str(path))
        progress.step()
    if args.format == "pdf":
        _emit(args.out, render_pdf(labels, stock=stock))
        written.append(args.out)
    elif args.format == "zpl":
        _emit(args.out, "".join(zpl).encode())
        written.append(args.out)
    if args.out != "-":
        print(json.dumps({"labels": len(names), "format": args.format, "files": written}))
    return 0


def _emit(target: str, data: bytes) -> None:
    if target == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        Path(target).write_bytes(data)

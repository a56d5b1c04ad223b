"""``lotledger-verify``: check what a Lotledger server says, without trusting it.

Subcommands::

    lotledger-verify bundle FILE --key KEY [--tlog-proofs DIR]
                     (DIR: also write each verified entry as DIR/entry-SEQ.tlog-proof)
    lotledger-verify log (URL | EXPORT) --key KEY [--state FILE] [--page-size N] [--quiet]
                     [--api-key KEY]             (URL: a regulator or admin API key; or
                                                  env LOTLEDGER_API_KEY)
                     [--recheck N | --full]      (URL, with the state of an earlier audit)
    lotledger-verify log (URL | DIR) --tiles --key KEY [--api-key KEY] [--state FILE]
                                     (C2SP tlog-tiles: ours, a static mirror, a directory;
                                      a URL without /v1/log or a directory is detected)
    lotledger-verify tlog-proof FILE --key KEY [--leaf FILE] [--witness KEY ...] [--quorum N]
                     (one entry's C2SP tlog-proof: the log's signature, the inclusion of
                      the leaf, and the listed witnesses' cosignatures)
    lotledger-verify recall EXPORT --key KEY --lot GTIN/LOT [--lot ...]
                     [--direction forward|backward] [--at LOCATION] [--json]
    lotledger-verify witness --state DIR --key-file FILE --log-key KEY [--log-key ...]
                     [--listen HOST:PORT]
    lotledger-verify witness-key NAME [--ml-dsa]   (print a new witness signer key, then
                                            its verifier key on stderr; --ml-dsa: ML-DSA-44)

``KEY`` is a C2SP verifier key string (``name+keyid+base64``) or a file holding
one. Exit status: 0 verified; 1 only for proven tampering or inconsistency (the
message names the first bad entry, the check, what was expected and what was
found); 2 for usage errors, a key or log that is not the one trusted, and input
that cannot be read or reached or is not in the expected format. ``log URL`` without
an API key checks what is public (the checkpoint's signature, and its consistency with
the saved state), prints ``CHECKPOINT ONLY``, and exits 2: the entries were not audited.
``tlog-proof`` exits 2 too when fewer of the listed witnesses cosigned than ``--quorum``
asks (default: all of them): the proof may be genuine, but is not trusted enough.

The formats it reads (the log endpoints' answers, ``lotledger-export``,
``lotledger-bundle``) are specified in ``FORMATS.md`` beside this package
(``verifier/FORMATS.md``); ``--help`` prints where it is installed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from verifier.audit import (
    Progress,
    audit_export,
    audit_url,
    check_checkpoint_url,
    state_path_for,
)
from verifier.bundle import Bundle, describe, render_timeline, verify_bundle
from verifier.errors import (
    EncodingError,
    EntryError,
    HistoryRewrittenError,
    KeyFormatError,
    LotNotFoundError,
    NoteError,
    UnknownLogError,
    VerificationError,
    WitnessQuorumError,
    WitnessRefusal,
)
from verifier.note import (
    ALG_COSIGNATURE_MLDSA44,
    ALG_COSIGNATURE_V1,
    COSIGNATURE_ALGORITHMS,
    SignerKey,
    VerifierKey,
)
from verifier.recall import parse_lot, recall_from_export
from verifier.tile_audit import audit_tiles, serves_tiles_only
from verifier.tlog_proof import FILE_SUFFIX, TlogProof, verify_tlog_proof
from verifier.witness import Witness, serve

__all__ = ["main"]

OK, FAILED, USAGE = 0, 1, 2
#: Where ``log URL`` finds the API key when ``--api-key`` is not given.
API_KEY_ENV = "LOTLEDGER_API_KEY"
DEFAULT_STATE = Path.home() / ".lotledger-verify"
#: The specification of the formats the verifier reads, installed with this package.
FORMATS = Path(__file__).with_name("FORMATS.md")


class _UsageError(Exception):
    pass


def _key(text: str) -> VerifierKey:
    path = Path(text)
    if "+" not in text or (path.exists() and path.is_file()):
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise _UsageError(f"cannot read key file {text}: {exc}") from None
    try:
        return VerifierKey.parse(text)
    except KeyFormatError as exc:
        raise _UsageError(f"not a verifier key: {exc}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lotledger-verify",
        description="Verify Lotledger provenance bundles, logs and recalls without trusting "
        "the server.",
        epilog=f"The formats it reads (log endpoints, lotledger-export, lotledger-bundle) "
        f"are specified in {FORMATS}.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("bundle", help="verify a lot's provenance bundle and print its timeline")
    p.add_argument("file", help="bundle JSON file ('-' for stdin)")
    p.add_argument("--key", required=True, help="the log's verifier key (or a file with it)")
    p.add_argument(
        "--tlog-proofs",
        type=Path,
        metavar="DIR",
        help="also write each verified entry as a C2SP tlog-proof, DIR/entry-SEQ.tlog-proof",
    )

    p = sub.add_parser("log", help="full audit of a log: a server URL or an export file")
    p.add_argument("source", help="http(s)://server or an export file ('-' for stdin)")
    p.add_argument("--key", required=True, help="the log's verifier key (or a file with it)")
    p.add_argument(
        "--state",
        type=Path,
        help="state file kept between audits (default for URLs: ~/.lotledger-verify/<origin>"
        "+<key id>.json; exports keep none unless given)",
    )
    again = p.add_mutually_exclusive_group()
    again.add_argument(
        "--recheck",
        type=int,
        default=0,
        metavar="N",
        help="also re-check N random already-audited entries against the tree verified before",
    )
    again.add_argument(
        "--full",
        action="store_true",
        help="also re-read and re-hash every already-audited entry",
    )
    p.add_argument(
        "--api-key",
        metavar="KEY",
        help=f"a regulator or admin API key, to read a server's entries or entry tiles "
        f"(default: env {API_KEY_ENV}); without one only the checkpoint is checked",
    )
    p.add_argument("--page-size", type=int, default=1000, help="entries per request (URL)")
    p.add_argument(
        "--tiles",
        action="store_true",
        help="audit through the C2SP tlog-tiles (/checkpoint, /tile/...): a server, a static "
        "mirror or a `lotledger tiles sync` directory (detected when there is no /v1/log API)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("tlog-proof", help="verify one entry's C2SP tlog-proof (offline)")
    p.add_argument("file", help="the .tlog-proof file ('-' for stdin)")
    p.add_argument("--key", required=True, help="the log's verifier key (or a file with it)")
    p.add_argument(
        "--leaf",
        help="a file with the entry's leaf bytes, for a proof without an extra line (with "
        "one, these bytes are checked instead of the extra's)",
    )
    p.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="KEY",
        help="a witness's cosigner key (cosignature/v1 or ML-DSA-44, or a file with it) that "
        "must have cosigned the checkpoint (repeatable)",
    )
    p.add_argument(
        "--quorum",
        type=int,
        metavar="N",
        help="how many of the --witness keys must have cosigned (default: all)",
    )

    p = sub.add_parser("recall", help="recall lookup from a verified export")
    p.add_argument("export", help="export file ('-' for stdin)")
    p.add_argument("--key", required=True, help="the log's verifier key (or a file with it)")
    p.add_argument("--lot", action="append", required=True, help="GTIN/LOT (repeatable)")
    p.add_argument("--direction", choices=["forward", "backward"], default="forward")
    p.add_argument("--at", help="start at this location (default: the lot's origin)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("witness", help="run a C2SP tlog-witness over HTTP")
    p.add_argument("--state", type=Path, required=True, help="state directory")
    p.add_argument("--key-file", type=Path, required=True, help="the witness's signer key")
    p.add_argument(
        "--log-key", action="append", required=True, help="a log's verifier key (repeatable)"
    )
    p.add_argument("--listen", default="127.0.0.1:8470", help="HOST:PORT (default %(default)s)")

    p = sub.add_parser(
        "witness-key", help="generate a witness key (cosignature/v1, or ML-DSA-44 with --ml-dsa)"
    )
    p.add_argument("name")
    p.add_argument(
        "--ml-dsa",
        action="store_true",
        help="an ML-DSA-44 cosigner key (type 0x06), as c2sp.org/tlog-cosignature recommends "
        "for new witnesses",
    )
    return parser


def _open_binary(name: str) -> object:
    if name == "-":
        return sys.stdin.buffer
    try:
        return Path(name).open("rb")
    except OSError as exc:
        raise _UsageError(f"cannot open {name}: {exc}") from None


def _cmd_bundle(args: argparse.Namespace) -> int:
    key = _key(args.key)
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        raise _UsageError(f"cannot read {args.file}: {exc}") from None
    bundle = Bundle.from_json(data)
    provenance = verify_bundle(bundle, key)
    sys.stdout.write(render_timeline(provenance))
    sys.stdout.write("VERIFIED\n")
    if args.tlog_proofs is not None:
        try:
            args.tlog_proofs.mkdir(parents=True, exist_ok=True)
            for entry in bundle.entries:
                proof = TlogProof(entry.seq, entry.proof, bundle.checkpoint_note, entry.leaf)
                (args.tlog_proofs / f"entry-{entry.seq}{FILE_SUFFIX}").write_text(
                    proof.encode(), encoding="utf-8"
                )
        except OSError as exc:
            raise _UsageError(_os_message(exc)) from None
        print(f"wrote {len(bundle.entries)} tlog-proofs to {args.tlog_proofs}")
    return OK


def _progress(quiet: bool) -> Progress | None:
    return None if quiet or not sys.stderr.isatty() else Progress(0)


def _cmd_log(args: argparse.Namespace) -> int:
    key = _key(args.key)
    progress = _progress(args.quiet)
    if args.recheck < 0 or args.page_size < 1:
        raise _UsageError("--recheck must be >= 0 and --page-size >= 1")
    if args.tiles or serves_tiles_only(args.source):
        if args.recheck or args.full:
            raise _UsageError("--recheck and --full are for the paged audit of /v1/log")
        report = audit_tiles(
            args.source,
            key,
            state_path=args.state or state_path_for(DEFAULT_STATE, key),
            api_key=args.api_key or os.environ.get(API_KEY_ENV) or None,
            progress=progress,
        )
    elif args.source.startswith(("http://", "https://")):
        state = args.state or state_path_for(DEFAULT_STATE, key)
        api_key = args.api_key or os.environ.get(API_KEY_ENV) or None
        if api_key is None:
            return _checkpoint_only(args.source, key, state)
        report = audit_url(
            args.source,
            key,
            state_path=state,
            api_key=api_key,
            page_size=args.page_size,
            progress=progress,
            recheck=args.recheck,
            full=args.full,
        )
    else:
        if args.recheck or args.full:
            raise _UsageError(
                "--recheck and --full are for audits of a live log (a URL); an export's audit "
                "re-hashes every entry the file holds"
            )
        stream = _open_binary(args.source)
        try:
            report = audit_export(stream, key, state_path=args.state, progress=progress)  # type: ignore[arg-type]
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()  # type: ignore[attr-defined]
    since = (
        f", consistent with the size {report.previous_size} audited before"
        if report.previous_size is not None
        else ""
    )
    again = (
        f", {report.rechecked} already-audited entries checked again" if report.rechecked else ""
    )
    scope = (
        f" (entries {report.start}..{report.tree_size - 1} of a range export: the entries "
        f"before {report.start} are not checked by this file)"
        if report.start and report.previous_size is None
        else ""
    )
    print(
        f"VERIFIED log {report.origin}: {report.tree_size} entries, root {report.root.hex()}; "
        f"{report.entries_checked} entries re-hashed and chained{scope}, "
        f"{report.checkpoints_checked} checkpoints checked{since}{again} "
        f"({report.seconds:.2f}s)"
    )
    return OK


def _checkpoint_only(source: str, key: VerifierKey, state: Path) -> int:
    """The keyless check of a live log: say what was verified, and that the entries were not."""
    report = check_checkpoint_url(source, key, state_path=state)
    since = (
        f"; consistent with the size {report.previous_size} audited before"
        if report.previous_size is not None
        else "; no earlier audit to compare with"
    )
    print(
        f"CHECKPOINT ONLY log {report.origin}: {report.tree_size} entries, root "
        f"{report.root.hex()}; {report.signers}: signature verified{since}"
    )
    return _say(
        "lotledger-verify: the entries were not audited: reading a log's entries needs a "
        f"regulator (auditor) or admin API key; pass --api-key KEY or set {API_KEY_ENV}",
        USAGE,
    )


def _cmd_tlog_proof(args: argparse.Namespace) -> int:
    key = _key(args.key)
    witnesses = [_key(text) for text in args.witness]
    if args.quorum is not None and not 0 <= args.quorum <= len(witnesses):
        raise _UsageError(f"--quorum must be between 0 and the {len(witnesses)} --witness keys")
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
        leaf = None if args.leaf is None else Path(args.leaf).read_bytes()
    except OSError as exc:
        raise _UsageError(_os_message(exc)) from None
    proof = TlogProof.parse(data)
    if leaf is None and proof.extra is None:
        raise _UsageError("the proof has no extra line with the leaf bytes: pass --leaf FILE")
    try:
        verified = verify_tlog_proof(proof, key, leaf=leaf, witnesses=witnesses, quorum=args.quorum)
    except WitnessQuorumError as exc:
        return _say(f"lotledger-verify: not cosigned as required: {exc}", USAGE)
    cosigned = (
        "; cosigned by "
        + ", ".join(f"{name} (at {timestamp})" for name, timestamp in verified.cosigned_by)
        if verified.cosigned_by
        else ""
    )
    print(
        f"VERIFIED entry {verified.index} of log {verified.origin}: included in the signed "
        f"tree of size {verified.size}, root {verified.root.hex()}{cosigned}"
    )
    envelope = verified.envelope
    if envelope is not None and isinstance(envelope.get("event"), dict):
        print(
            f"  {envelope.get('recorded_at')} {envelope.get('actor')}: "
            f"{describe(envelope['event'])}"
        )
    return OK


def _cmd_recall(args: argparse.Namespace) -> int:
    key = _key(args.key)
    lots = [parse_lot(text) for text in args.lot]
    stream = _open_binary(args.export)
    try:
        answer = recall_from_export(
            stream,  # type: ignore[arg-type]
            key,
            lots,
            direction=args.direction,
            at=args.at,
            progress=_progress(args.quiet),
        )
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()  # type: ignore[attr-defined]
    if args.json:
        print(json.dumps(answer.as_dict(), indent=1))
    else:
        sys.stdout.write(answer.render())
    return OK


def _cmd_witness(args: argparse.Namespace) -> int:
    try:
        signer = SignerKey.parse(args.key_file.read_text(encoding="utf-8").strip())
    except OSError as exc:
        raise _UsageError(f"cannot read {args.key_file}: {exc}") from None
    except KeyFormatError as exc:
        raise _UsageError(f"{args.key_file}: {exc}") from None
    if signer.algorithm not in COSIGNATURE_ALGORITHMS:
        raise _UsageError(
            "the witness key must be a cosignature/v1 or ML-DSA-44 key (see witness-key)"
        )
    logs = [_key(text) for text in args.log_key]
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        raise _UsageError(f"--listen must be HOST:PORT, got {args.listen!r}")
    server = serve(Witness(args.state, signer, logs), host, int(port))
    print(
        f"witness {signer.verifier_key()} listening on http://{host}:{server.server_address[1]}"
        f" for {', '.join(k.name for k in logs)}",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return OK


def _cmd_witness_key(args: argparse.Namespace) -> int:
    try:
        algorithm = ALG_COSIGNATURE_MLDSA44 if args.ml_dsa else ALG_COSIGNATURE_V1
        signer = SignerKey.generate(args.name, algorithm)
    except KeyFormatError as exc:
        raise _UsageError(str(exc)) from None
    print(signer)
    print(signer.verifier_key(), file=sys.stderr)
    return OK


COMMANDS = {
    "bundle": _cmd_bundle,
    "log": _cmd_log,
    "tlog-proof": _cmd_tlog_proof,
    "recall": _cmd_recall,
    "witness": _cmd_witness,
    "witness-key": _cmd_witness_key,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    try:
        return COMMANDS[args.command](args)
    except _UsageError as exc:
        return _say(f"lotledger-verify: {exc}", USAGE)
    except UnknownLogError as exc:
        return _say(f"lotledger-verify: not the log you trust: {exc}", USAGE)
    except (EncodingError, KeyFormatError) as exc:
        return _say(f"lotledger-verify: cannot use this input: {exc}", USAGE)
    except LotNotFoundError as exc:
        return _say(f"lotledger-verify: {exc}", USAGE)
    except OSError as exc:
        return _say(f"lotledger-verify: {_os_message(exc)}", USAGE)
    except EntryError as exc:
        return _say(f"FAILED: the log was tampered with or is corrupt: {exc}", FAILED)
    except HistoryRewrittenError as exc:
        return _say(f"FAILED: {exc}", FAILED)
    except (NoteError, WitnessRefusal, VerificationError) as exc:
        return _say(f"FAILED: {exc}", FAILED)


def _say(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code


def _os_message(exc: OSError) -> str:
    if exc.filename is not None and exc.strerror:
        return f"cannot read {exc.filename}: {exc.strerror}"
    return str(exc)


if __name__ == "__main__":
    sys.exit(main())

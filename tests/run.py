"""The whole suite, on SQLite and on PostgreSQL: ``python -m tests.run [pytest args]``.

The two runs go side by side (one pytest process each, on a machine of two cores), each with
a temporary directory of its own; SQLite's output streams as it runs, PostgreSQL's follows
when both are done. ``--one-at-a-time`` runs them one after the other instead.

PostgreSQL is ``LOTLEDGER_TEST_DATABASE_URL`` or the local default. In CI
(``CI=true``), or when the URL is given explicitly, an unreachable PostgreSQL
fails the run; on a developer machine without one, the PostgreSQL half is
skipped with a loud message (and a non-zero exit if ``--require-postgres``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def reachable(url: str) -> str | None:
    try:
        with psycopg.connect(url.replace("+psycopg", ""), connect_timeout=5):
            return None
    except psycopg.Error as exc:
        return str(exc).strip()


def pytest(args: list[str], env: dict[str, str]) -> int:
    return subprocess.call([sys.executable, "-m", "pytest", *args], env=env)


def main() -> int:
    flags = {"--require-postgres", "--one-at-a-time"}
    args = [a for a in sys.argv[1:] if a not in flags]
    explicit = os.environ.get("LOTLEDGER_TEST_DATABASE_URL")
    required = bool(explicit) or os.environ.get("CI") == "true" or "--require-postgres" in sys.argv
    pg_url = explicit or DEFAULT_PG
    env = {k: v for k, v in os.environ.items() if k != "LOTLEDGER_TEST_DATABASE_URL"}
    pg_env = {**env, "LOTLEDGER_TEST_DATABASE_URL": pg_url}

    problem = reachable(pg_url)
    if problem:
        print(f"== PostgreSQL at {pg_url} is not reachable: {problem}", flush=True)
        if required:
            print("== the PostgreSQL run is required here: failing", flush=True)
            return 1
        print("== SKIPPED the PostgreSQL run (set LOTLEDGER_TEST_DATABASE_URL to require it)")
        print("== tests on SQLite ==", flush=True)
        return pytest(args, env)

    if "--one-at-a-time" in sys.argv:
        print("== tests on SQLite ==", flush=True)
        sqlite_rc = pytest(args, env)
        print(f"\n== tests on PostgreSQL ({pg_url}) ==", flush=True)
        return sqlite_rc or pytest(args, pg_env)

    with tempfile.TemporaryDirectory(prefix="lotledger-tests-") as tmp:
        base = Path(tmp)
        print(f"== tests on SQLite and on PostgreSQL ({pg_url}), side by side ==", flush=True)
        with (base / "postgresql.log").open("w+", encoding="utf-8") as pg_log:
            pg = subprocess.Popen(
                [sys.executable, "-m", "pytest", *args, f"--basetemp={base / 'pg'}"],
                env=pg_env,
                stdout=pg_log,
                stderr=subprocess.STDOUT,
            )
            try:
                print("== tests on SQLite ==", flush=True)
                sqlite_rc = pytest([*args, f"--basetemp={base / 'sqlite'}"], env)
                pg_rc = pg.wait()
            finally:
                if pg.poll() is None:
                    pg.kill()
                    pg.wait()
            pg_log.seek(0)
            print(f"\n== tests on PostgreSQL ({pg_url}) ==", flush=True)
            sys.stdout.write(pg_log.read())
            sys.stdout.flush()
    return sqlite_rc or pg_rc


if __name__ == "__main__":
    sys.exit(main())

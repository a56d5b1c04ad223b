"""The whole suite, on SQLite and then on PostgreSQL: ``python -m tests.run [pytest args]``.

PostgreSQL is ``LOTLEDGER_TEST_DATABASE_URL`` or the local default. In CI
(``CI=true``), or when the URL is given explicitly, an unreachable PostgreSQL
fails the run; on a developer machine without one, the PostgreSQL half is
skipped with a loud message (and a non-zero exit if ``--require-postgres``).
"""

from __future__ import annotations

import os
import subprocess
import sys

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
    args = [a for a in sys.argv[1:] if a != "--require-postgres"]
    explicit = os.environ.get("LOTLEDGER_TEST_DATABASE_URL")
    required = bool(explicit) or os.environ.get("CI") == "true" or "--require-postgres" in sys.argv
    pg_url = explicit or DEFAULT_PG

    env = {k: v for k, v in os.environ.items() if k != "LOTLEDGER_TEST_DATABASE_URL"}
    print("== tests on SQLite ==", flush=True)
    sqlite_rc = pytest(args, env)

    problem = reachable(pg_url)
    if problem:
        print(f"\n== PostgreSQL at {pg_url} is not reachable: {problem}", flush=True)
        if required:
            print("== the PostgreSQL run is required here: failing", flush=True)
            return 1
        print("== SKIPPED the PostgreSQL run (set LOTLEDGER_TEST_DATABASE_URL to require it)")
        return sqlite_rc
    print(f"\n== tests on PostgreSQL ({pg_url}) ==", flush=True)
    pg_rc = pytest(args, {**env, "LOTLEDGER_TEST_DATABASE_URL": pg_url})
    return sqlite_rc or pg_rc


if __name__ == "__main__":
    sys.exit(main())

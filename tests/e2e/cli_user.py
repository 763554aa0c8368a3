#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""kino user add / list as a script uses them: the password piped on stdin, the
account in <data>/kino.db, and errors that exit non-zero and say what to do.
Needs only the kino binary (KINO_BIN); no server, no media."""
import os
import subprocess
import sys
import tempfile

KINO = os.environ.get("KINO_BIN", "build/kino")


def kino(*args, stdin="", env=None):
    e = dict(os.environ)
    e.pop("KINO_DATA", None)
    e.pop("KINO_CONFIG", None)
    e.update(env or {})
    return subprocess.run([KINO, "user", *args], input=stdin, capture_output=True, text=True,
                          env=e, timeout=60)


def check(cond, what, p=None):
    if not cond:
        detail = f"\n  rc={p.returncode}\n  stdout={p.stdout!r}\n  stderr={p.stderr!r}" if p else ""
        sys.exit(f"FAIL: {what}{detail}")
    print(f"ok: {what}")


def main():
    with tempfile.TemporaryDirectory(prefix="kino-cli-user-") as tmp:
        data = os.path.join(tmp, "data")

        p = kino("add", "--email", "Admin@Example.com", "--role", "admin", "--name", "Ada",
                 "--data", data, stdin="correct horse\n")
        check(p.returncode == 0, "add creates the first admin", p)
        fields = p.stdout.split()
        check(len(fields) == 2 and len(fields[0]) == 16 and fields[1] == "admin@example.com",
              "add prints the new id and the lower-cased email", p)
        admin_id = fields[0]
        check("correct horse" not in p.stdout + p.stderr, "the password is not echoed back", p)
        check(os.path.exists(os.path.join(data, "kino.db")), "the database is in the data dir")

        p = kino("add", "--email=viewer@example.com", "--role=viewer", stdin="another pass",
                 env={"KINO_DATA": data})
        check(p.returncode == 0, "KINO_DATA, --flag=value and a password without newline", p)

        p = kino("add", "--email", "ADMIN@example.com", "--role", "creator", "--data", data,
                 stdin="correct horse\n")
        check(p.returncode != 0 and "already exists" in p.stderr, "a duplicate email is refused", p)

        p = kino("add", "--email", "s@example.com", "--role", "creator", "--data", data,
                 stdin="short\n")
        check(p.returncode != 0 and "at least 8" in p.stderr, "a short password is refused", p)

        p = kino("add", "--email", "r@example.com", "--role", "owner", "--data", data,
                 stdin="long enough\n")
        check(p.returncode != 0 and "admin, creator or viewer" in p.stderr,
              "a bad role is refused with the accepted ones", p)

        p = kino("add", "--email", "no-at-sign", "--role", "viewer", "--data", data,
                 stdin="long enough\n")
        check(p.returncode != 0 and "not an email address" in p.stderr,
              "an email without '@' is refused", p)

        p = kino("add", "--email", "e@example.com", "--role", "viewer", "--data", data, stdin="")
        check(p.returncode != 0 and "standard input" in p.stderr,
              "no password on stdin says how to pipe one", p)

        p = kino("add", "--role", "viewer", "--data", data, stdin="long enough\n")
        check(p.returncode != 0 and "--email" in p.stderr, "--email is required", p)

        p = kino("list", "--data", data)
        check(p.returncode == 0, "list runs", p)
        lines = p.stdout.strip().splitlines()
        check(len(lines) == 3, "list shows a header and the two accounts, not the refused ones", p)
        rows = [line.split() for line in lines[1:]]
        check(rows[1] == [admin_id, "admin@example.com", "admin", "no"] and
              rows[0][1:] == ["viewer@example.com", "viewer", "no"],
              "list shows id, email, role, disabled, newest first", p)

        p = kino("--help")
        check(p.returncode == 0 and "kino user add" in p.stdout, "user --help", p)
    print("cli_user: all passed")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Run a command whose `age` asks for a passphrase on the terminal.

`age -p` and `age -d` read the passphrase from the controlling terminal
only (no flag, no environment variable), so bench/pack.sh runs the tools'
encrypted pipeline under a pseudo-terminal: every "passphrase:" prompt is
answered with $AGE_BENCH_PASSPHRASE. Usage: age_tty.py sh -c '...'.
Exits with the command's status.
"""
import os
import pty
import sys


def main() -> int:
    pw = os.environ["AGE_BENCH_PASSPHRASE"].encode() + b"\n"
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.argv[1], sys.argv[1:])
    seen = b""
    answered = 0
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        seen = (seen + data)[-4096:]
        prompts = seen.count(b"assphrase")
        while answered < prompts:
            os.write(fd, pw)
            answered += 1
        if answered:
            seen = seen[seen.rfind(b"assphrase") + 9 :]
            answered = 0
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())

"""Wall time of `mgrctl -m billmgr whoami` against a bare interpreter start.

Why: scripts, cron jobs and plugins call mgrctl in loops, so each call must
cost close to starting Python at all (DESIGN.md, "Cheap client").  Measured on
an installed package with compiled bytecode, as users run it: this machine
sets PYTHONDONTWRITEBYTECODE=1, so running from the checkout would recompile
every call.  The script installs the checkout (non-editable) into a
throwaway venv, starts that venv's billmgrd and times that venv's mgrctl.
Target: median mgrctl / median bare `python3 -I -S -c "import socket, json"` <= 1.5.

    python bench/mgrctl_startup.py [--runs 30] [--venv PATH]   (--venv reuses an install)
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _daemon import Daemon

TARGET = 1.5
CHECKOUT = Path(__file__).resolve().parents[1]


def base_python():
    """The interpreter venvs are made from (not a venv's own python)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def base_of(venv):
    """The interpreter ``venv`` was made from (pyvenv.cfg "executable", else its python resolved)."""
    for line in (venv / "pyvenv.cfg").read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "executable":
            return Path(value.strip())
    return (venv / "bin" / "python").resolve()


def install(venv):
    print(f"installing {CHECKOUT} into {venv} ...", flush=True)
    subprocess.run([base_python(), "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(CHECKOUT)],
                   check=True)


def wall_time(argv, env):
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--venv", type=Path, help="an existing venv with billmgr installed")
    args = parser.parse_args()

    venv, scratch = args.venv, None
    try:
        if venv is None:
            scratch = Path(tempfile.mkdtemp(prefix="billmgr-bench-venv-"))
            venv = scratch / "venv"
            install(venv)
        python = base_of(venv)
        with Daemon(venv / "bin") as daemon:
            commands = {"mgrctl": ([str(venv / "bin" / "mgrctl"), "-m", "billmgr", "whoami"], daemon.env),
                        "bare": ([str(python), "-I", "-S", "-c", "import socket, json"], dict(os.environ))}
            times = {name: [] for name in commands}
            for argv, env in commands.values():
                wall_time(argv, env)                    # warm-up
            for _ in range(args.runs):                  # alternate, so drift in load hits both alike
                for name, (argv, env) in commands.items():
                    times[name].append(wall_time(argv, env))
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)

    mgrctl, bare = (statistics.median(times[name]) for name in ("mgrctl", "bare"))
    ratio = mgrctl / bare
    print(f"median of {args.runs} runs (after one warm-up), installed package in {venv}")
    print(f"  mgrctl -m billmgr whoami:                 {mgrctl * 1000:6.1f} ms")
    print(f"  {python.name} -I -S -c 'import socket, json': {bare * 1000:6.1f} ms")
    print(f"  ratio: {ratio:.2f}   (target <= {TARGET}: {'MET' if ratio <= TARGET else 'MISSED'})")


if __name__ == "__main__":
    main()

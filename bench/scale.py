"""Lists at 1,000 and at 100,000 clients: each page against the same call at 1,000, and an
unpaged list of every client in every format with the daemon's peak memory.

Why: a provider's panel pages, sorts and filters the client list all day, and
scripts list every client (DESIGN.md, "Replies of any size", and every list
through one engine whose sort and filter columns are indexed).  The clients
are written straight into the database before the daemon starts
(billmgr.store.sample); the rate of creating them through account.edit is
measured too, on the big database.

Each figure is the median of --calls calls over one connection, each with an
ignored nonce parameter so that the reply is computed, not served from the
list cache.  Targets: every page <= 3x the same call at 1,000 clients; the
unpaged list streamed in every format with the daemon's peak RSS < 150 MB.

Run it with the interpreter of a venv where billmgr is installed
(non-editable: these machines do not write bytecode, so a checkout would
recompile the daemon's modules on every start; see README.md):

    VENV/bin/python bench/scale.py [--clients 100000] [--calls 40] [--seconds 3] [--venv VENV]
"""

import argparse
import statistics
import subprocess
import time
from pathlib import Path

import psutil
from _daemon import Daemon, bin_dir, protocol, report, run_clients

SMALL = 1000
TARGET_RATIO = 3.0
TARGET_RSS_MB = 150
SAMPLE = 777       # the client the filters look for; it exists at either size
FORMATS = ("xml", "json", "sjson", "JSONdata", "bjson", "text", "print")


def fill(venv_bin, db, clients):
    """Write ``clients`` clients into ``db`` with the daemon's own installed billmgr."""
    subprocess.run([str(venv_bin / "python"), "-c",
                    f"from billmgr.store.sample import add_clients; add_clients({str(db)!r}, {clients})"],
                   check=True)


def ask(sock, params):
    """One call; the whole reply text, however many frames it streams in."""
    protocol.write_frame(sock, {"op": "call", "params": params})
    frames = list(protocol.read_reply(sock))
    if any(frame.get("error") for frame in frames):
        raise SystemExit(f"error reply to {params}: {frames[0].get('body', '')[:500]}")
    return "".join(frame.get("body", "") for frame in frames)


def median_ms(sock, params, calls):
    times = []
    for n in range(calls):
        started = time.perf_counter()
        ask(sock, params + [["nonce", str(n)]])
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def pages(clients):
    """(label, parameters) of each measured page at ``clients`` clients."""
    from billmgr.store.sample import email, name

    page = [["func", "account"], ["out", "xml"], ["p_cnt", "50"]]
    return [
        ("first page", page),
        ("last page", page + [["p_num", str(clients // 50)]]),
        ("p_sort=name", page + [["p_sort", "name"]]),
        ("p_sort=name desc", page + [["p_sort", "name"], ["p_order", "desc"]]),
        ("p_sort=registration_date", page + [["p_sort", "registration_date"]]),
        ("filter=on name=...", page + [["filter", "on"], ["name", name(SAMPLE)]]),
        ("filter=on email=...", page + [["filter", "on"], ["email", email(SAMPLE).split("@")[0] + "@"]]),
    ]


def peak_rss_mb(process):
    """The most memory the process has had resident so far (VmHWM)."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return psutil.Process(process.pid).memory_info().rss / 2**20


def measure(venv_bin, clients, calls, seconds=None):
    """The page figures; with ``seconds``, also the unpaged list, memory and the creation rate."""
    full = seconds is not None
    daemon = Daemon(venv_bin)
    started = time.perf_counter()
    fill(venv_bin, daemon.db, clients)
    filled = time.perf_counter() - started
    figures = {}
    with daemon:
        with daemon.connect() as sock:
            for label, params in pages(clients):
                ask(sock, params)      # warm: the first call of a kind pays for SQL preparation
                figures[label] = median_ms(sock, params, calls)
            if full:
                rss_before = psutil.Process(daemon.process.pid).memory_info().rss / 2**20
                for out in FORMATS:
                    started = time.perf_counter()
                    body = ask(sock, [["func", "account"], ["out", out]])
                    figures[f"unpaged out={out}"] = (time.perf_counter() - started) * 1000
                    figures[f"unpaged out={out} bytes"] = len(body.encode())
                figures["rss before"] = rss_before
                figures["rss peak"] = peak_rss_mb(daemon.process)
        if full:
            figures["create"] = run_clients(
                daemon, lambda client, n: [["func", "account.edit"], ["email", f"new{client}-{n}@example.org"],
                                           ["sok", "ok"]], seconds=seconds)
    return filled, figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=3.0, help="of account.edit calls, 8 clients")
    parser.add_argument("--venv", help="use billmgrd from this venv (default: beside this python)")
    args = parser.parse_args()
    venv_bin = bin_dir(args.venv)

    _, small = measure(venv_bin, SMALL, args.calls)
    filled, big = measure(venv_bin, args.clients, args.calls, args.seconds)
    print(f"{args.clients:,} clients written into the database in {filled:.1f} s")
    print(f"median of {args.calls} computed calls, account p_cnt=50 out=xml:")
    print(f"  {'call':28} {SMALL:>8,} {args.clients:>9,}   ratio")
    for label, _ in pages(SMALL):
        ratio = big[label] / small[label]
        verdict = "ok" if ratio <= TARGET_RATIO else "OVER"
        print(f"  {label:28} {small[label]:6.2f} ms {big[label]:6.2f} ms  {ratio:5.2f}x  {verdict}")
    print(f"unpaged account, {args.clients:,} rows, streamed:")
    for out in FORMATS:
        print(f"  out={out}: {big[f'unpaged out={out}'] / 1000:.2f} s, "
              f"{big[f'unpaged out={out} bytes'] / 2**20:.1f} MiB")
    verdict = "MET" if big["rss peak"] < TARGET_RSS_MB else "MISSED"
    print(f"  daemon RSS {big['rss before']:.0f} MB before, peak {big['rss peak']:.0f} MB "
          f"(target < {TARGET_RSS_MB} MB: {verdict})")
    print(f"account.edit on {args.clients:,} clients, 8 clients x {args.seconds:g} s:")
    report(big["create"], None)


if __name__ == "__main__":
    main()

"""Converter memory and speed on generated raw files: peak RSS and rows/s of
`python -m garden.data` run as a subprocess, at growing numbers of rows.

    python tools/bench_convert.py [--layout=criteo|taobao] [--rows=50000,500000]
                                  [--checkout=DIR] [--work_dir=DIR]

Writes a raw file in the published layout (Criteo Kaggle train.txt: tab-separated, no header,
long-tailed 8-hex-digit categorical values whose vocabulary grows with the rows; Taobao
UserBehavior.csv: user,item,category,behavior,timestamp over 9 days), converts it, and prints
one line per size: rows, peak RSS (the child's VmHWM, TensorFlow's ~0.5 GB included),
wall and CPU seconds (user + system: on a shared, loaded machine the CPU time is the fair
measure) and raw rows per CPU second. A converter whose memory is bounded by its vocabularies grows far
less than 10x over 10x rows. --checkout runs another copy of the garden (e.g. an older commit
checked out elsewhere) for a before/after comparison.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_criteo(path, rows, seed=0):
    """Kaggle layout: label, 13 integer features (15% missing), 26 categorical (10% missing),
    each a Zipf draw over a vocabulary of rows/20 values written as 8 hex digits."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        for start in range(0, rows, 100_000):
            n = min(100_000, rows - start)
            label = (rng.random(n) < 0.25).astype(int).astype(str)
            ints = rng.geometric(0.05, (n, 13)).astype(str)
            ints[rng.random((n, 13)) < 0.15] = ""
            ranks = rng.zipf(1.2, (n, 26)) % max(rows // 20, 10)
            cats = np.char.mod("%08x", (ranks * 2654435761 + np.arange(26) * 97) % 2**32)
            cats[rng.random((n, 26)) < 0.1] = ""
            table = np.concatenate([label[:, None], ints, cats], axis=1)
            f.write("\n".join("\t".join(r) for r in table.tolist()) + "\n")


def write_taobao(path, rows, seed=0):
    """UserBehavior layout: rows/20 users with ~20 events each over 9 days, Zipf items."""
    rng = np.random.default_rng(seed)
    users = max(rows // 20, 2)
    with open(path, "w") as f:
        for start in range(0, rows, 100_000):
            n = min(100_000, rows - start)
            user = rng.integers(1, users + 1, n)
            item = rng.zipf(1.3, n) % max(rows // 10, 10) + 1
            cat = item % 500 + 1
            behavior = rng.choice(["pv", "pv", "pv", "cart", "fav", "buy"], n)
            stamp = 1511539200 + rng.integers(0, 9 * 86400, n)
            f.write("".join(f"{u},{i},{c},{b},{t}\n" for u, i, c, b, t in zip(
                user.tolist(), item.tolist(), cat.tolist(), behavior.tolist(), stamp.tolist())))


LAYOUTS = {"criteo": ("criteo", "train.txt", write_criteo),
           "taobao": ("taobao-userbehavior", "UserBehavior.csv", write_taobao)}


# The child prints its own peak RSS (VmHWM of its process image) when it exits: the
# ru_maxrss that wait4 reports would also count the pages a forked child shared with this
# process before exec (a parent holding a generated file or TensorFlow inflates it).
_CHILD = ("import atexit, runpy, sys\n"
          "def peak():\n"
          "    for line in open('/proc/self/status'):\n"
          "        if line.startswith('VmHWM:'):\n"
          "            sys.stdout.write('PEAK_RSS_KB ' + line.split()[1] + '\\n')\n"
          "atexit.register(peak)\n"
          "sys.argv = ['garden.data'] + sys.argv[1:]\n"
          "runpy.run_module('garden.data', run_name='__main__', alter_sys=True)\n")


def measure(checkout, dataset, raw_dir, out_dir):
    """(peak RSS in MB, wall seconds, CPU seconds, stdout) of one conversion in a child
    process."""
    env = dict(os.environ, PYTHONPATH=checkout)
    start = time.time()
    child = subprocess.Popen([sys.executable, "-c", _CHILD, f"--dataset={dataset}",
                              f"--raw_dir={raw_dir}", f"--out_dir={out_dir}"],
                             cwd=checkout, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.time() - start
    peaks = [line.split()[1] for line in output.splitlines() if line.startswith("PEAK_RSS_KB")]
    if status or not peaks:
        raise SystemExit(f"conversion failed:\n{output[-3000:]}")
    return int(peaks[-1]) / 1024, seconds, usage.ru_utime + usage.ru_stime, output


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layout", choices=sorted(LAYOUTS), default="criteo")
    parser.add_argument("--rows", default="50000,500000", help="comma-separated sizes")
    parser.add_argument("--checkout", default=ROOT, help="the garden copy to run")
    parser.add_argument("--work_dir", default="/tmp/bench_convert")
    parser.add_argument("--keep", action="store_true", help="keep the raw and output files")
    args = parser.parse_args()
    dataset, name, writer = LAYOUTS[args.layout]
    print(f"{args.layout} layout, garden at {args.checkout}")
    print(f"{'rows':>10} {'peak RSS MB':>12} {'wall s':>8} {'CPU s':>8} {'rows/CPU s':>10}")
    for rows in [int(r) for r in args.rows.split(",")]:
        raw = os.path.join(args.work_dir, f"{args.layout}-{rows}")
        os.makedirs(raw, exist_ok=True)
        if not os.path.exists(os.path.join(raw, name)):
            writer(os.path.join(raw, name), rows)
        out = os.path.join(args.work_dir, f"out-{args.layout}-{rows}")
        rss, seconds, cpu, _ = measure(args.checkout, dataset, raw, out)
        print(f"{rows:>10,} {rss:>12,.0f} {seconds:>8.1f} {cpu:>8.1f} {rows / cpu:>10,.0f}",
              flush=True)
        shutil.rmtree(out, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(raw, ignore_errors=True)


if __name__ == "__main__":
    main()

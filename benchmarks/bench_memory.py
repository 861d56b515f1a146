"""Benchmark: peak memory of training on one long stream, with and without keeping every step's outputs.

``TruncatedRTRL.update(net, state, batch, outputs=...)`` returns the outputs of every step by default
(8 bytes per step per output); ``outputs="targets"`` keeps only the steps with a target and
``outputs="none"`` none, so that a long stream trains in memory independent of its length beyond the
data themselves. For one sequence of 10^5, 10^6 and 10^7 steps of the adding net (2 inputs, 1 output,
93 weights; a target at the last step only) this measures, each in a fresh process, the resident memory
after the data are built and the peak resident memory during training (``VmHWM``, reset just before
training through ``/proc/self/clear_refs``, so that the temporaries of building the data do not count;
Linux only). Run::

    python benchmarks/bench_memory.py            # 10^5, 10^6, 10^7 steps
    python benchmarks/bench_memory.py --quick    # 10^4, 10^5

It is a benchmark, not a test: nothing here asserts a figure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, sys
import numpy as np
from lstm1997 import Architecture, Batch, TruncatedRTRL, init

def status_mib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")

n, outputs = int(sys.argv[1]), sys.argv[2]
arch = Architecture(n_in=2, n_out=1, blocks=2, cells=2, in_gate_bias=(-3.0, -6.0))
rng = np.random.default_rng(0)
net = init(arch, rng)
learner = TruncatedRTRL(0.1)
learner.update(net, learner.init(net), Batch(np.zeros((2, 2)), np.full((2, 1), 0.5), [0, 2]), outputs=outputs)
x = rng.uniform(-1, 1, (n, 2))
d = np.full((n, 1), np.nan)
d[-1] = 0.5
batch = Batch(x, d, np.array([0, n]))
del x, d
before = status_mib("VmRSS")
with open("/proc/self/clear_refs", "w") as f:     # reset the peak (VmHWM) to the present RSS (Linux >= 4.0)
    f.write("5")
Y = learner.update(net, learner.init(net), batch, outputs=outputs)
peak = status_mib("VmHWM")
print(json.dumps({"steps": n, "outputs": outputs, "data_mib": (batch.inputs.nbytes + batch.targets.nbytes) / 2**20,
                  "rss_before_mib": before, "peak_mib": peak, "returned_rows": int(Y.shape[0])}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10^4 and 10^5 steps only")
    ap.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    args = ap.parse_args()
    sizes = [10**4, 10**5] if args.quick else [10**5, 10**6, 10**7]
    rows = []
    print(f"{'steps':>12} {'outputs':>8} {'data MiB':>9} {'RSS before':>11} {'peak RSS':>9} {'peak - before':>14}")
    for n in sizes:
        for outputs in ("all", "none"):
            out = subprocess.run([sys.executable, "-c", CHILD, str(n), outputs], capture_output=True, text=True,
                                 check=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            rows.append(r)
            print(f"{n:>12,} {outputs:>8} {r['data_mib']:>9.1f} {r['rss_before_mib']:>10.1f}M "
                  f"{r['peak_mib']:>8.1f}M {r['peak_mib'] - r['rss_before_mib']:>13.1f}M", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()

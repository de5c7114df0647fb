"""Thread policies under load: wgan-kit and the plain loop, quiet and beside busy processes.

A torch process on a shared machine competes with whatever else runs there. With its default
OpenMP waiting, each of torch's threads spins for a while at the end of every parallel region;
when another process holds one of the cores, the spinning threads and the preempted one take
turns, and small kernels (the toy MLP's) slow several-fold. This script measures that, so that
wgan-kit's thread policy (`wgan_kit/thread_policy.py`) is chosen by it.

For each load (0, 1, 2, ... processes that keep a core busy with `while True: pass`) and each
policy (environment variables set before torch loads), it runs `compare.py` on one case in a
fresh process with that environment, and records both loops' generator steps per second. The
plain loop under torch's defaults is the yardstick of every row: a user's own script.

    python benchmarks/threads.py                                  # toy MLP at fp32, loads 0, 1, 2
    python benchmarks/threads.py --case cifar-dcgan --gen-steps 1 --busy 0 --busy 1
    python benchmarks/threads.py --policy spin1e4="GOMP_SPINCOUNT=10000"

Run it on a machine with nothing else running: it makes its own load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from wgan_kit.evaluation.benchmark import machine  # noqa: E402
from wgan_kit.thread_policy import THREAD_POLICY  # noqa: E402

POLICIES = {
    "torch default": {},
    "wgan-kit": THREAD_POLICY,
    "passive": {"OMP_WAIT_POLICY": "PASSIVE"},
    "spin 10k": {"GOMP_SPINCOUNT": "10000"},
    "one thread": {"OMP_NUM_THREADS": "1"},
}
CONTROLLED = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS")


def busy_processes(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def run_compare(environment: dict[str, str], args: argparse.Namespace) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    env.update(environment)
    with tempfile.TemporaryDirectory() as folder:
        rows = Path(folder) / "rows.json"
        subprocess.run([sys.executable, str(HERE / "compare.py"), "--case", args.case,
                        "--precision", args.precision, "--gen-steps", str(args.gen_steps),
                        "--rounds", str(args.rounds), "--warmup", str(args.warmup),
                        "--json", str(rows)], env=env, check=True, stdout=subprocess.DEVNULL)
        return json.loads(rows.read_text())[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", default="toy-mlp")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--busy", type=int, action="append", help="busy processes; repeatable "
                        "[default: 0, 1 and 2]")
    parser.add_argument("--policy", action="append", default=[], metavar='NAME="VAR=VALUE ..."',
                        help="a policy of your own, beside the built-in ones; repeatable")
    parser.add_argument("--only", action="append", help="run only these policies (by name)")
    parser.add_argument("--gen-steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    policies = dict(POLICIES)
    for given in args.policy:
        name, _, assignments = given.partition("=")
        policies[name] = dict(item.split("=", 1) for item in assignments.split())
    if args.only:
        policies = {name: policies[name] for name in args.only}
    print(json.dumps({key: value for key, value in machine().items()
                      if key not in ("threads", "thread_policy")}), flush=True)
    print(f"{args.case} at {args.precision}: {args.rounds} rounds of {args.gen_steps} generator "
          f"steps, each policy in a fresh process\n")
    print("| busy processes | policy | load avg at start | wgan-kit it/s | plain it/s "
          "(same policy) | wgan-kit / plain at torch's default |")
    print("|" + " --- |" * 6, flush=True)
    rows = []
    for busy in args.busy or [0, 1, 2]:
        load = busy_processes(busy)
        try:
            time.sleep(2)
            measured = {}
            for name, environment in policies.items():
                start_load = os.getloadavg()[0]
                measured[name] = {"busy": busy, "policy": name, "environment": environment,
                                  "load_average": start_load, **run_compare(environment, args)}
            rows += measured.values()
            yardstick = measured.get("torch default", {}).get("plain_it_s")
            for name, result in measured.items():
                versus = (f"{result['ours_it_s'] / yardstick:.2f}×" if yardstick else "—")
                print(f"| {busy} | {name} | {result['load_average']:.2f} | "
                      f"{result['ours_it_s']:.3g} | {result['plain_it_s']:.3g} | {versus} |",
                      flush=True)
        finally:
            for process in load:
                process.kill()
                process.wait()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

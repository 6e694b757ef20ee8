"""One command for every figure of issue 13 (fast by default, certified at scale).

Runs, in this order, each script in its own process (so one's memory and threads do not
affect the next), and writes their results into ``BENCHMARKS.md`` (``--out``):

1. ``bench_backtest.py`` -- the default backtest vs skforecast + LassoCV (13.1), medians of
   ``--runs`` interleaved runs, with the cold and opt-in configurations;
2. ``bench_scale.py`` -- full BTC at 1e-2 / 1e-3 / 1e-4 · β_max (13.2) and the pooled universe
   at 78k windows (1e-2, 1e-3 · β_max) and 247k windows (1e-2 · β_max) (13.3): time,
   certified gap, peak traced memory;
3. ``bench_arima.py --configs old new`` -- ``ARIMAForecaster(order="auto")``, the exact
   search at every refit vs the default screened search with order re-use (13.4): time and
   MAE before and after;
4. ``bench_adam.py`` -- one Adam epoch at 3,833 × 10 windows, width 100, depth 3 (13.5).

The Adam arm of the BTC experiment (13.5, hours of CPU) is ``adam_arm.py``; this command only
summarises what it has finished (``--adam-arm-dir``).

skforecast pins pandas < 3, so run this in the environment of the ``interop`` extra::

    pip install torch==2.13.0 && pip install -e ".[torch,test,interop]"
    python benchmarks/issue13.py --out BENCHMARKS.md

At the end it prints every headline figure with its target.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECTION = "## Issue 13 in one command"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of the backtest comparison")
    parser.add_argument("--parts", nargs="+", default=["backtest", "scale", "arima", "adam"],
                        choices=["backtest", "scale", "arima", "adam"])
    parser.add_argument("--adam-arm-dir", type=Path, default=Path("/tmp/convexforecast-adam-arm"))
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


def run(script: str, *options: str) -> str:
    """Run one benchmark script; return its standard output (and echo it)."""
    command = [sys.executable, str(HERE / script), *options]
    print("$ " + " ".join(command[1:]), flush=True)
    done = subprocess.run(command, cwd=HERE, capture_output=True, text=True, check=True)
    print(done.stdout, flush=True)
    return done.stdout


def headline(pattern: str, text: str) -> str:
    """The first line of ``text`` that matches ``pattern`` (or a note that none did)."""
    for line in text.splitlines():
        if re.search(pattern, line):
            return line.strip()
    return f"(no line matching {pattern!r})"


def main(argv: list[str] | None = None) -> int:
    """Run the parts, collect the outputs, write ``--out`` and print the headlines."""
    args = parse_args(argv)
    out = [] if args.out is None else ["--out", str(args.out)]
    summary, blocks = [], []
    if "backtest" in args.parts:
        text = run("bench_backtest.py", "--runs", str(args.runs), *out)
        summary.append(headline(r"^Default: ", text))
    if "scale" in args.parts:
        text = run("bench_scale.py", *out)
        summary.extend(line.removeprefix("- ") for line in text.splitlines()
                       if line.startswith("- target"))
    if "arima" in args.parts:
        text = run("bench_arima.py", "--configs", "old", "new")
        blocks.append(("ARIMA order='auto' (13.4): `bench_arima.py --configs old new`", text))
        summary.append(headline(r"^\s*new ", text))
    if "adam" in args.parts:
        text = run("bench_adam.py", "--repeats", "3")
        blocks.append(("Adam epoch (13.5): `bench_adam.py --repeats 3`", text))
        summary.append(headline(r"target <= ", text))
    arm = args.adam_arm_dir / "adam_arm.csv"
    if arm.exists():
        text = run("adam_arm.py", "--summary", "--out-dir", str(args.adam_arm_dir))
        blocks.append(("Adam arm of the BTC experiment (13.5): `adam_arm.py --summary`", text))
    body = "\n\n".join([SECTION, "Printed by `python benchmarks/issue13.py` (the 13.1 and 13.2-13.3 "
                        "tables are in their own sections above).", *(
                            f"### {title}\n\n```\n{text.strip()}\n```" for title, text in blocks)])
    if args.out is not None:
        sys.path.insert(0, str(HERE))
        from universe_experiment import replace_section

        replace_section(args.out, SECTION, body + "\n")
    print("\n".join(["", "Headline figures:", *(f"- {line}" for line in summary)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

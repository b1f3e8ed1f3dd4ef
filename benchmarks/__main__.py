"""Run every benchmarks/bench_*.py module's ``main()`` in name order: ``python -m benchmarks``.

``python -m benchmarks conv`` runs only the modules whose name contains ``conv``.
"""
import importlib
import pkgutil
import sys

import benchmarks
from course_utils import cpu_unit


def run(selection: list[str]) -> None:
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__)
                   if m.name.startswith("bench_"))
    if selection:
        names = [n for n in names if any(s in n for s in selection)]
    if not names:
        raise SystemExit(f"no benchmark matches {selection}")
    unit, runs = cpu_unit.measure()
    print(f"cpu unit: {unit:.2f} s (runs: {', '.join(f'{t:.2f}' for t in runs)}); the tables "
          "below were timed on this machine, in this run", flush=True)
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        importlib.import_module(f"benchmarks.{name}").main()


if __name__ == "__main__":
    run(sys.argv[1:])

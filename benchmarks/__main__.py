"""Run every benchmarks/bench_*.py module's ``main()`` in name order: ``python -m benchmarks``.

``python -m benchmarks conv`` runs only the modules whose name contains ``conv``.
"""
import importlib
import pkgutil
import sys

import benchmarks


def run(selection: list[str]) -> None:
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__)
                   if m.name.startswith("bench_"))
    if selection:
        names = [n for n in names if any(s in n for s in selection)]
    if not names:
        raise SystemExit(f"no benchmark matches {selection}")
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        importlib.import_module(f"benchmarks.{name}").main()


if __name__ == "__main__":
    run(sys.argv[1:])

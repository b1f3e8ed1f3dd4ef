"""K seeds against one: the stacked trainer (course_utils.evidence.stacked) beside the loop.

Run with ``python -m benchmarks seeds``. Prints, for a small MLP and a small CNN (150 Adam steps
of 64 examples, one thread), one seed's time and 5 seeds stacked and looped as multiples of it.
"""
from __future__ import annotations

from course_utils.evidence.speed import seeds_table
from course_utils.viz import format_table


def main(k: int = 5) -> list[dict]:
    rows = seeds_table(k=k)
    print(format_table(rows))
    return rows


if __name__ == "__main__":
    main()

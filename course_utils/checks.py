"""Student self-checks: run a function on cases and print PASS / FAIL with what differed."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np


def _describe(value: Any) -> str:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape}, dtype {value.dtype}"
    return repr(value)


def _difference(got: Any, expected: Any, atol: float, rtol: float) -> str | None:
    """Return None when ``got`` matches ``expected``, else a short description of the gap."""
    if hasattr(got, "detach"):
        got = got.detach().cpu().numpy()
    if hasattr(expected, "detach"):
        expected = expected.detach().cpu().numpy()
    if isinstance(expected, (tuple, list)) and not isinstance(expected, np.ndarray):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"expected a sequence of length {len(expected)}, got {_describe(got)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            gap = _difference(g, e, atol, rtol)
            if gap:
                return f"item {i}: {gap}"
        return None
    if got is None and expected is not None:
        return "got None (did you forget to return the result?)"
    if isinstance(expected, (np.ndarray, float, int, np.number)) and not isinstance(expected, bool):
        try:
            got_arr = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            return f"expected {_describe(expected)}, got {_describe(got)}"
        exp_arr = np.asarray(expected, dtype=np.float64)
        if got_arr.shape != exp_arr.shape:
            return f"shape {got_arr.shape}, expected {exp_arr.shape}"
        if not np.allclose(got_arr, exp_arr, atol=atol, rtol=rtol, equal_nan=True):
            err = np.abs(got_arr - exp_arr)
            where = np.unravel_index(np.nanargmax(err), err.shape) if err.ndim else ()
            return (f"values differ: max |got - expected| = {np.nanmax(err):.3g} at index "
                    f"{tuple(int(i) for i in where)} (tolerance atol={atol:g}, rtol={rtol:g})")
        return None
    return None if got == expected else f"got {got!r}, expected {expected!r}"


def check_function(fn: Callable, cases: Sequence, reference: Callable | None = None, *,
                   atol: float = 1e-8, rtol: float = 1e-6, name: str | None = None,
                   raise_on_fail: bool = True) -> bool:
    """Call ``fn`` on each case, print PASS / FAIL per case, return True if all pass.

    Each case is a tuple of positional arguments, or a dict with ``args`` (tuple),
    optional ``kwargs`` (dict), optional ``expected`` and optional ``label``. The expected
    value is ``case["expected"]`` if given, otherwise ``reference(*args, **kwargs)``.
    With ``raise_on_fail`` an AssertionError summarises the failures (graders need it).
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if len(cases) == 0:
        raise ValueError("cases must contain at least one case")
    name = name or getattr(fn, "__name__", "function")
    failures = []
    for i, case in enumerate(cases):
        if not isinstance(case, dict):
            case = {"args": tuple(case)}
        args, kwargs = tuple(case.get("args", ())), dict(case.get("kwargs", {}))
        label = case.get("label", f"case {i + 1}")
        if "expected" in case:
            expected = case["expected"]
        elif reference is not None:
            expected = reference(*args, **kwargs)
        else:
            raise ValueError(f"case {label!r} has no 'expected' and no reference was given")
        try:
            got = fn(*args, **kwargs)
            gap = _difference(got, expected, atol, rtol)
        except NotImplementedError:
            gap = "not implemented yet (the function raised NotImplementedError)"
        except Exception as exc:  # noqa: BLE001 - report any student error as a failure
            gap = f"raised {type(exc).__name__}: {exc}"
        if gap:
            failures.append(f"{label}: {gap}")
            print(f"FAIL {name} {label}: {gap}")
        else:
            print(f"PASS {name} {label}")
    if failures:
        print(f"{len(failures)} of {len(cases)} checks failed.")
        if raise_on_fail:
            raise AssertionError(f"{name}: " + "; ".join(failures))
        return False
    print(f"All {len(cases)} checks passed.")
    return True


def check_raises(fn: Callable, args: Sequence = (), kwargs: dict | None = None,
                 exception: type[BaseException] = ValueError, label: str = "bad input") -> bool:
    """Print PASS if ``fn(*args, **kwargs)`` raises ``exception``, else FAIL (and raise)."""
    try:
        fn(*args, **(kwargs or {}))
    except exception:
        print(f"PASS {label}: raised {exception.__name__}")
        return True
    except Exception as exc:  # noqa: BLE001
        message = f"raised {type(exc).__name__} ({exc}), expected {exception.__name__}"
    else:
        message = f"did not raise, expected {exception.__name__}"
    print(f"FAIL {label}: {message}")
    raise AssertionError(f"{label}: {message}")

"""A tiny scalar reverse-mode automatic differentiation engine.

Every arithmetic operation on :class:`Value` objects records a node of a computational
graph: the result remembers its inputs and a small closure that, given the gradient of the
final output with respect to the result, adds the chain-rule contribution to each input's
``grad``. :meth:`Value.backward` visits the nodes in reverse topological order, so each
node has received the gradient from all of its consumers before it passes it on.

>>> a, b = Value(2.0, "a"), Value(-3.0, "b")
>>> y = a * b + a
>>> y.backward()
>>> a.grad, b.grad      # dy/da = b + 1, dy/db = a
(-2.0, 2.0)
"""
from __future__ import annotations

import math
from numbers import Real
from typing import Callable, Iterable


def _as_value(x) -> "Value":
    return x if isinstance(x, Value) else Value(x)


class Value:
    """A scalar that remembers how it was computed.

    data: the number; grad: d(output)/d(this value), filled in by ``backward``;
    label: a name shown in graph drawings; op: the operation that produced it ('' for inputs).
    """

    def __init__(self, data: float, label: str = "", _inputs: Iterable["Value"] = (),
                 _op: str = "") -> None:
        if isinstance(data, bool) or not isinstance(data, Real):
            raise TypeError(f"data must be a real number, got {type(data).__name__}")
        self.data = float(data)
        self.grad = 0.0
        self.label = label
        self.op = _op
        self.inputs: tuple[Value, ...] = tuple(_inputs)
        self._backward: Callable[[], None] = lambda: None

    def __repr__(self) -> str:
        name = f"{self.label}=" if self.label else ""
        return f"Value({name}{self.data:.4g}, grad={self.grad:.4g})"

    # ---- operations: each builds the output and its local backward rule -----------------
    def __add__(self, other) -> "Value":
        other = _as_value(other)
        out = Value(self.data + other.data, _inputs=(self, other), _op="+")

        def backward() -> None:  # d(a + b)/da = d(a + b)/db = 1
            self.grad += out.grad
            other.grad += out.grad
        out._backward = backward
        return out

    def __mul__(self, other) -> "Value":
        other = _as_value(other)
        out = Value(self.data * other.data, _inputs=(self, other), _op="*")

        def backward() -> None:  # d(a b)/da = b, d(a b)/db = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = backward
        return out

    def __pow__(self, exponent: float) -> "Value":
        if isinstance(exponent, bool) or not isinstance(exponent, Real):
            raise TypeError(f"exponent must be a constant real number, got "
                            f"{type(exponent).__name__}")
        out = Value(self.data ** exponent, _inputs=(self,), _op=f"**{exponent:g}")

        def backward() -> None:  # d(a^k)/da = k a^(k-1)
            self.grad += exponent * self.data ** (exponent - 1) * out.grad
        out._backward = backward
        return out

    def exp(self) -> "Value":
        out = Value(math.exp(self.data), _inputs=(self,), _op="exp")

        def backward() -> None:  # d(e^a)/da = e^a
            self.grad += out.data * out.grad
        out._backward = backward
        return out

    def log(self) -> "Value":
        if self.data <= 0:
            raise ValueError(f"log needs a positive value, got {self.data}")
        out = Value(math.log(self.data), _inputs=(self,), _op="log")

        def backward() -> None:  # d(log a)/da = 1 / a
            self.grad += out.grad / self.data
        out._backward = backward
        return out

    def tanh(self) -> "Value":
        out = Value(math.tanh(self.data), _inputs=(self,), _op="tanh")

        def backward() -> None:  # d(tanh a)/da = 1 - tanh(a)^2
            self.grad += (1.0 - out.data ** 2) * out.grad
        out._backward = backward
        return out

    def sigmoid(self) -> "Value":
        s = 1.0 / (1.0 + math.exp(-self.data)) if self.data >= 0 else \
            math.exp(self.data) / (1.0 + math.exp(self.data))
        out = Value(s, _inputs=(self,), _op="sigmoid")

        def backward() -> None:  # d(s(a))/da = s(a) (1 - s(a))
            self.grad += out.data * (1.0 - out.data) * out.grad
        out._backward = backward
        return out

    def relu(self) -> "Value":
        out = Value(max(self.data, 0.0), _inputs=(self,), _op="relu")

        def backward() -> None:  # 1 where a > 0, else 0 (we pick 0 at a = 0, as torch does)
            self.grad += (self.data > 0) * out.grad
        out._backward = backward
        return out

    # ---- everything else is written in terms of the operations above ----------------------
    def __neg__(self) -> "Value":
        return self * -1.0

    def __sub__(self, other) -> "Value":
        return self + (-_as_value(other))

    def __truediv__(self, other) -> "Value":
        return self * _as_value(other) ** -1.0

    def __radd__(self, other) -> "Value":
        return self + other

    def __rmul__(self, other) -> "Value":
        return self * other

    def __rsub__(self, other) -> "Value":
        return _as_value(other) - self

    def __rtruediv__(self, other) -> "Value":
        return _as_value(other) / self

    # ---- reverse pass ------------------------------------------------------------------
    def backward(self) -> None:
        """Fill in ``grad`` of every node this value depends on (d self / d node).

        Gradients accumulate (``+=``): a node used twice receives both contributions.
        Calling ``backward`` again first resets all gradients in the graph to zero.
        """
        order = topological_order(self)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


def topological_order(root: Value) -> list[Value]:
    """All nodes ``root`` depends on (itself included), every node after its inputs."""
    if not isinstance(root, Value):
        raise TypeError(f"root must be a Value, got {type(root).__name__}")
    order: list[Value] = []
    seen: set[int] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:  # iterative depth-first search, so deep graphs do not hit the recursion limit
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in node.inputs if id(child) not in seen)
    return order

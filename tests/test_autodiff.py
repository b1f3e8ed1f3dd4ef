"""The scalar autodiff engine against torch.autograd (float64, relative tolerance 1e-10)."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from course_utils.learning.autodiff import Value, topological_order

pytestmark = pytest.mark.chapter("03_backprop")

# The same Python function builds a graph of Values or of torch tensors (duck typing).
EXPRESSIONS = {
    "polynomial": lambda a, b, c: a * b + c * a ** 2 - b / 4.0,
    "neuron_tanh": lambda a, b, c: (a * 0.5 + b * -1.5 + c).tanh(),
    "reused_node": lambda a, b, c: (a * a + a) * (b - a),  # c unused: its gradient is 0
    "exp_log": lambda a, b, c: (a.exp() + b.exp() + 1.0).log() * c,
    "division": lambda a, b, c: (a - c) / (b * b + 1.0) + 2.0 / (c * c + 1.0),
    "relu_sigmoid": lambda a, b, c: (a * b).relu() + (b - c).sigmoid() * 3.0 - (1.0 - a).relu(),
    "rsub_rmul": lambda a, b, c: 1.0 - 2.0 * a + 3.0 * (b + c) ** 3,
}

finite = st.floats(-3.0, 3.0, allow_nan=False).filter(lambda v: abs(v) > 1e-3)


def grads_both(expr, values):
    nodes = [Value(v, name) for v, name in zip(values, "abc")]
    out = expr(*nodes)
    out.backward()
    tensors = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    ref = expr(*tensors)
    ref.backward()
    return out, nodes, ref, tensors


def close(x: float, y: float, tol: float = 1e-10) -> bool:
    return abs(x - y) <= tol * max(1.0, abs(x), abs(y))


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
@given(a=finite, b=finite, c=finite)
def test_matches_torch_autograd(name, a, b, c):
    out, nodes, ref, tensors = grads_both(EXPRESSIONS[name], (a, b, c))
    assert close(out.data, ref.item())
    for node, t in zip(nodes, tensors):
        expected = 0.0 if t.grad is None else t.grad.item()  # None: the input is unused
        assert close(node.grad, expected), (node.label, node.grad, expected)


def test_hand_computed_example():
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    y = a * b + a
    y.backward()
    assert (y.data, a.grad, b.grad) == (-4.0, -2.0, 2.0)


def test_backward_twice_gives_the_same_gradients():
    a = Value(1.5)
    y = (a * a).tanh() * a
    y.backward()
    first = a.grad
    y.backward()
    assert a.grad == first


def test_topological_order_puts_inputs_first():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    order = topological_order(d)
    assert order[-1] is d
    assert order.index(c) > order.index(a) and order.index(c) > order.index(b)
    assert len(order) == 4


def test_deep_chain_does_not_hit_the_recursion_limit():
    x = Value(0.5)
    y = x
    for _ in range(5000):
        y = y * 1.0 + 0.0
    y.backward()
    assert math.isclose(x.grad, 1.0)


def test_bad_input_raises_naming_the_argument():
    with pytest.raises(TypeError, match="data"):
        Value("3")
    with pytest.raises(TypeError, match="data"):
        Value(True)
    with pytest.raises(TypeError, match="exponent"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(ValueError, match="log needs a positive value"):
        Value(-1.0).log()
    with pytest.raises(TypeError, match="root"):
        topological_order(3.0)

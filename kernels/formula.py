"""Potentials typed as formulas, U(x, y) = "(x**2 + y**2 - 1)**2 / 0.1": parsed, differentiated and
compiled for the kernels without ever running the text as Python.

The text goes through ``ast.parse(mode="eval")``, which only builds a syntax tree, and every node is
checked against an allow-list: numbers, the names x, y, pi and e, + − × ÷ ** and unary minus, and the
calls exp, log, sqrt, sin, cos, tanh, abs, min, max (two arguments for min/max, one otherwise). Anything
else (other names, attributes, subscripts, keywords, comparisons, lambdas, strings…) is refused with the
offending piece named. The checked tree becomes tuples, is differentiated symbolically (product, quotient
and chain rules), and U, ∂U/∂x and ∂U/∂y are encoded as postfix programs in one float64 array that the
device function :func:`kernels.formula_eval.formula_potential` runs on a small stack.
"""
from __future__ import annotations

import ast
import math
import warnings

import numpy as np

MAX_TEXT = 400        # characters of formula text
MAX_NODES = 200       # nodes of the parsed expression
MAX_PROGRAM = 4000    # postfix instructions of U and its gradient together
MAX_STACK = 16        # the evaluator's stack depth

# opcodes of the postfix programs
PUSH_X, PUSH_Y, PUSH_CONST = 1, 2, 3
ADD, SUB, MUL, DIV, POW = 4, 5, 6, 7, 8
NEG, EXP, LOG, SQRT, SIN, COS, TANH, ABS, SIGN = 9, 10, 11, 12, 13, 14, 15, 16, 17
MIN, MAX = 18, 19
SELECT_LT = 20  # (a, b, c, d) → c if a < b else d

BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
FUNCTIONS = {"exp": 1, "log": 1, "sqrt": 1, "sin": 1, "cos": 1, "tanh": 1, "abs": 1, "min": 2, "max": 2}
CONSTANTS = {"pi": math.pi, "e": math.e}
OPCODES = {"add": ADD, "sub": SUB, "mul": MUL, "div": DIV, "pow": POW, "neg": NEG, "exp": EXP, "log": LOG,
           "sqrt": SQRT, "sin": SIN, "cos": COS, "tanh": TANH, "abs": ABS, "sign": SIGN, "min": MIN,
           "max": MAX, "select_lt": SELECT_LT}


class FormulaError(ValueError):
    """A formula that is not allowed, not valid, or too large; the message names the problem."""


# -- parsing ------------------------------------------------------------------------------------------
def parse(text: str) -> tuple:
    """The checked expression tree of ``text`` (see module doc), or FormulaError."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("the formula is empty: type a potential U(x, y), e.g. (x**2 + y**2 - 1)**2 / 0.1")
    if len(text) > MAX_TEXT:
        raise FormulaError(f"the formula is {len(text)} characters long; at most {MAX_TEXT} are allowed")
    try:
        with warnings.catch_warnings():  # e.g. "invalid decimal literal": the error below says it better
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise FormulaError(f"not a formula: {error.msg} at column {error.offset}") from None
    except (ValueError, RecursionError, MemoryError):
        raise FormulaError("not a formula: it could not be parsed") from None
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        raise FormulaError(f"the formula has {nodes} parts; at most {MAX_NODES} are allowed")
    return _convert(tree.body)


def _convert(node) -> tuple:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        value = float(node.value) if abs(node.value) < 1e300 else math.inf
        if not math.isfinite(value):
            raise FormulaError("a number in the formula is too large for float64")
        return ("c", value)
    if isinstance(node, ast.Name):
        if node.id in ("x", "y"):
            return (node.id,)
        if node.id in CONSTANTS:
            return ("c", CONSTANTS[node.id])
        raise FormulaError(f"unknown name {node.id!r}: use x, y, pi, e and the functions "
                           f"{', '.join(FUNCTIONS)}")
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        return (BINARY[type(node.op)], _convert(node.left), _convert(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _convert(node.operand)
        return ("neg", inner) if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise FormulaError(f"{ast.unparse(node.func)[:30]!r} is not an allowed function: use "
                               f"{', '.join(FUNCTIONS)}")
        if node.keywords or len(node.args) != FUNCTIONS[node.func.id] or \
                any(isinstance(a, ast.Starred) for a in node.args):
            raise FormulaError(f"{node.func.id} takes {FUNCTIONS[node.func.id]} plain argument(s)")
        return (node.func.id, *(_convert(a) for a in node.args))
    raise FormulaError(f"{ast.unparse(node)[:40]!r} is not allowed in a formula (only numbers, x, y, "
                       f"+ - * / ** and {', '.join(FUNCTIONS)})")


# -- symbolic differentiation ---------------------------------------------------------------------------
def _is(e, value) -> bool:
    return e[0] == "c" and e[1] == value


def _add(a, b):
    if _is(a, 0.0):
        return b
    if _is(b, 0.0):
        return a
    if a[0] == "c" and b[0] == "c":
        return ("c", a[1] + b[1])
    return ("add", a, b)


def _sub(a, b):
    if _is(b, 0.0):
        return a
    if _is(a, 0.0):
        return _neg(b)
    return ("sub", a, b)


def _mul(a, b):
    if _is(a, 0.0) or _is(b, 0.0):
        return ("c", 0.0)
    if _is(a, 1.0):
        return b
    if _is(b, 1.0):
        return a
    if a[0] == "c" and b[0] == "c":
        return ("c", a[1] * b[1])
    return ("mul", a, b)


def _div(a, b):
    if _is(a, 0.0):
        return ("c", 0.0)
    if _is(b, 1.0):
        return a
    return ("div", a, b)


def _neg(a):
    return ("c", -a[1]) if a[0] == "c" else ("neg", a)


def derivative(e: tuple, var: str) -> tuple:
    """∂e/∂var by the usual rules; constant folding keeps the result small."""
    kind = e[0]
    if kind == "c":
        return ("c", 0.0)
    if kind in ("x", "y"):
        return ("c", 1.0 if kind == var else 0.0)
    if kind == "neg":
        return _neg(derivative(e[1], var))
    if kind in ("add", "sub"):
        da, db = derivative(e[1], var), derivative(e[2], var)
        return _add(da, db) if kind == "add" else _sub(da, db)
    if kind == "mul":
        a, b = e[1], e[2]
        return _add(_mul(derivative(a, var), b), _mul(a, derivative(b, var)))
    if kind == "div":
        a, b = e[1], e[2]
        return _div(_sub(_mul(derivative(a, var), b), _mul(a, derivative(b, var))), ("mul", b, b))
    if kind == "pow":
        a, b = e[1], e[2]
        if b[0] == "c":  # d a^c = c a^(c−1) da
            return _mul(_mul(b, ("pow", a, ("c", b[1] - 1.0))), derivative(a, var))
        # d a^b = a^b (b' log a + b a'/a)
        return _mul(e, _add(_mul(derivative(b, var), ("log", a)), _div(_mul(b, derivative(a, var)), a)))
    a = e[1]
    da = derivative(a, var)
    if kind == "exp":
        return _mul(e, da)
    if kind == "log":
        return _div(da, a)
    if kind == "sqrt":
        return _div(da, _mul(("c", 2.0), e))
    if kind == "sin":
        return _mul(("cos", a), da)
    if kind == "cos":
        return _neg(_mul(("sin", a), da))
    if kind == "tanh":
        return _mul(_sub(("c", 1.0), ("mul", e, e)), da)
    if kind == "abs":
        return _mul(("sign", a), da)
    b = e[2]
    db = derivative(b, var)
    if kind == "min":
        return ("select_lt", a, b, da, db)
    if kind == "max":
        return ("select_lt", a, b, db, da)
    raise FormulaError(f"cannot differentiate {kind!r}")  # unreachable for checked trees


# -- encoding -------------------------------------------------------------------------------------------
def _postfix(e: tuple, out: list) -> None:
    kind = e[0]
    if kind == "c":
        out.append((PUSH_CONST, e[1]))
    elif kind in ("x", "y"):
        out.append((PUSH_X if kind == "x" else PUSH_Y, 0.0))
    else:
        for child in e[1:]:
            _postfix(child, out)
        out.append((OPCODES[kind], 0.0))
    if len(out) > MAX_PROGRAM:
        raise FormulaError(f"the formula's gradient is too large to compile (over {MAX_PROGRAM} steps)")


def _stack_depth(program) -> int:
    depth = deepest = 0
    for op, _ in program:
        depth += 1 if op in (PUSH_X, PUSH_Y, PUSH_CONST) else (-3 if op == SELECT_LT else
                                                                (-1 if op in (ADD, SUB, MUL, DIV, POW, MIN, MAX) else 0))
        deepest = max(deepest, depth)
    return deepest


def compile_formula(text: str) -> np.ndarray:
    """[len U, len ∂x, len ∂y, then (opcode, operand) pairs of the three programs] as float64."""
    expression = parse(text)
    programs = []
    for e in (expression, derivative(expression, "x"), derivative(expression, "y")):
        program: list = []
        _postfix(e, program)
        if _stack_depth(program) > MAX_STACK:
            raise FormulaError(f"the formula nests too deeply to evaluate (stack depth over {MAX_STACK})")
        programs.append(program)
    flat = [float(len(p)) for p in programs]
    for program in programs:
        for op, operand in program:
            flat += [float(op), operand]
    return np.array(flat)

"""Run the postfix programs of :mod:`kernels.formula` inside the kernels (CPU and CUDA)."""
import math

import numba
import numpy as np

from kernels.compile import device, device_per_target, outlined
from kernels.formula import (ABS, ADD, COS, DIV, EXP, LOG, MAX, MAX_STACK, MIN, MUL, NEG, POW, PUSH_CONST,
                             PUSH_X, PUSH_Y, SELECT_LT, SIGN, SIN, SQRT, SUB, TANH)

from kernels.backend import cuda  # numba.cuda, imported on first use


def _stack_cpu():
    return np.empty(MAX_STACK)


def _stack_cuda():
    return cuda.local.array(MAX_STACK, numba.float64)


new_stack = device_per_target(cpu=_stack_cpu, cuda=_stack_cuda)


@device
def run_program(program, start, length, x, y):
    """The value of the postfix program of ``length`` (opcode, operand) pairs at program[start:]."""
    stack = new_stack()
    top = 0
    for i in range(length):
        op = int(program[start + 2 * i])
        if op == PUSH_X:
            stack[top] = x
            top += 1
        elif op == PUSH_Y:
            stack[top] = y
            top += 1
        elif op == PUSH_CONST:
            stack[top] = program[start + 2 * i + 1]
            top += 1
        elif op <= POW or op == MIN or op == MAX:
            b = stack[top - 1]
            a = stack[top - 2]
            top -= 1
            if op == ADD:
                r = a + b
            elif op == SUB:
                r = a - b
            elif op == MUL:
                r = a * b
            elif op == DIV:
                r = a / b if b != 0.0 else math.copysign(math.inf, a) if a != 0.0 else math.nan
            elif op == POW:
                r = math.pow(a, b) if (a > 0.0 or b == math.floor(b)) else math.nan
            elif op == MIN:
                r = min(a, b)
            else:
                r = max(a, b)
            stack[top - 1] = r
        elif op == SELECT_LT:
            d = stack[top - 1]
            c = stack[top - 2]
            b = stack[top - 3]
            a = stack[top - 4]
            top -= 3
            stack[top - 1] = c if a < b else d
        else:
            a = stack[top - 1]
            if op == NEG:
                r = -a
            elif op == EXP:
                r = math.exp(min(a, 700.0))
            elif op == LOG:
                r = math.log(a) if a > 0.0 else (-math.inf if a == 0.0 else math.nan)
            elif op == SQRT:
                r = math.sqrt(a) if a >= 0.0 else math.nan
            elif op == SIN:
                r = math.sin(a)
            elif op == COS:
                r = math.cos(a)
            elif op == TANH:
                r = math.tanh(a)
            elif op == ABS:
                r = abs(a)
            elif op == SIGN:
                r = 1.0 if a > 0.0 else (-1.0 if a < 0.0 else 0.0)
            else:  # not an opcode: programs come only from compile_formula, so this is never reached
                r = math.nan
            stack[top - 1] = r
    return stack[0]


# Outlined: the stack machine is the largest body a sampler step reaches, and inlined at each of a step's
# potential calls it took most of every sampler kernel's cold compile (MALA: 87-138 s inlined, 14 s outlined, at
# the same particle-steps per second on ring8 and donut).
@outlined
def formula_potential(x, y, program):
    """(U, ∂U/∂x, ∂U/∂y) at (x, y) from the three programs packed by kernels.formula.compile_formula."""
    n_u = int(program[0])
    n_x = int(program[1])
    n_y = int(program[2])
    u = run_program(program, 3, n_u, x, y)
    gx = run_program(program, 3 + 2 * n_u, n_x, x, y)
    gy = run_program(program, 3 + 2 * (n_u + n_x), n_y, x, y)
    return u, gx, gy

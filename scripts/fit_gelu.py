#!/usr/bin/env python3
"""Fits the polynomials of the device's exact GELU (compiler/expr.c,
CLG_EXPR_GELU) and checks the whole formula in float32 against float64.

GELU(v) = v * Phi(v), Phi the standard normal CDF. The device computes it
without erf (Intel's OpenCL erf is a long SVML call, PoCL's a scalar libm
call the vectoriser cannot widen):

    |v| < S:  Phi(v) = 0.5 + v * PA(v^2)                 (PA: degree DA)
    |v| >= S: Phi(-|v|) = exp(-v^2 / 2) * PB(min(|v|, TOP) - S)   (PB: degree DB)
              Phi(v) = that for v < 0, 1 - that for v > 0

with exp of a non-positive argument by hand: 2^n * e^r, n = rint(y / ln 2),
r = y - n ln 2 in two parts (Cody-Waite), e^r by Taylor to degree 7, 2^n
from the exponent bits. Past |v| = 13 the tail is 0 (below 1e-38).

PB is fitted to the smooth Phi(-a) * exp(a^2 / 2) by relative least squares,
so the negative tail keeps its relative accuracy (1 + erf(v / sqrt 2) loses
it to cancellation: relative error 1.0 near v = -6 in float32). Past TOP the
polynomial is held at TOP: the result is then below 1e-8 in magnitude.

    python3 scripts/fit_gelu.py     # prints the coefficients and the errors

Needs numpy (bench/.venv has it); a development tool, not run by the build.
"""
import math

import numpy as np

S, TOP, DA, DB = 1.5, 6.0, 6, 10
EXP = [1.0, 1.0, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040]
LN2_HI, LN2_LO, LOG2E = 0.693145752, 1.428606765e-06, 1.442695041

f32 = np.float32
erf = np.vectorize(math.erf)
erfc = np.vectorize(math.erfc)
poly = np.polynomial.polynomial


def fit():
    v = np.linspace(1e-9, S, 20000)
    pa = poly.polyfit(v * v, 0.5 * erf(v / math.sqrt(2)) / v, DA)
    a = np.linspace(S, TOP, 20000)
    tail = 0.5 * erfc(a / math.sqrt(2)) * np.exp(a * a / 2)
    pb = poly.polyfit(a - S, tail, DB, w=1 / tail)
    return [float('%.9e' % c) for c in pa], [float('%.9e' % c) for c in pb]


def horner(c, x):
    p = np.full_like(x, f32(c[-1]))
    for k in c[-2::-1]:
        p = (p * x + f32(k)).astype(f32)
    return p


def gelu32(v, pa, pb):
    """The device's formula, operation by operation in float32."""
    with np.errstate(all='ignore'):
        a = np.abs(v)
        x = (v * v).astype(f32)
        phi_a = (f32(0.5) + v * horner(pa, x)).astype(f32)
        tb = (np.minimum(a, f32(TOP)) - f32(S)).astype(f32)
        y = np.maximum((f32(-0.5) * x).astype(f32), f32(-87))
        n = np.rint(y * f32(LOG2E)).astype(f32)
        r = (y - n * f32(LN2_HI) - n * f32(LN2_LO)).astype(f32)
        two_n = np.ldexp(f32(1), n.astype(np.int32)).astype(f32)
        c = np.where(a < f32(13), (horner(EXP, r) * two_n * horner(pb, tb)).astype(f32), f32(0))
        return np.where(a < f32(S), v * phi_a, np.where(v < 0, v * c, v * (f32(1) - c))).astype(f32)


def main():
    pa, pb = fit()
    print('PA', ', '.join('%.9e' % c for c in pa))
    print('PB', ', '.join('%.9e' % c for c in pb))
    v = np.concatenate([np.linspace(-14, 14, 600001), np.linspace(-3, 3, 200001),
                        -np.logspace(-37, 1.5, 20000), np.logspace(-37, 1.5, 20000)]).astype(f32)
    ref = v.astype(np.float64) * 0.5 * erfc(-v.astype(np.float64) / math.sqrt(2))
    err = np.abs(gelu32(v, pa, pb).astype(np.float64) - ref)
    with np.errstate(all='ignore'):
        old = (f32(0.5) * v * (f32(1) + erf(v * f32(0.70710678)).astype(f32))).astype(np.float64)
    normal = (v > -6) & (np.abs(ref) > 1e-37)
    print('abs error / max(1, |v|): %.2e' % (err / np.maximum(1, np.abs(v))).max())
    with np.errstate(all='ignore'):
        rel, rel_old = err / np.abs(ref), np.abs(old - ref) / np.abs(ref)
    print('relative error, v > -6:  %.2e (0.5 v (1 + erf(v / sqrt 2)) in float32: %.2e)' %
          (rel[normal].max(), rel_old[normal].max()))


if __name__ == '__main__':
    main()

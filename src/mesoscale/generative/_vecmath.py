"""Vectorisable ``exp`` and ``log`` for the numba kernels (internal).

Numba calls the C library's scalar ``exp``/``log`` (about 10 ns each here); LLVM cannot
vectorise those calls without Intel's SVML, which the PyPI builds lack. :func:`exp_le0` and
:func:`log_pos` use only arithmetic and bit operations on one value, so a loop that calls
them is turned into AVX2/AVX-512 code. Their polynomials are evaluated in Estrin's scheme
(short dependency chains) and the float <-> integer steps avoid the 64-bit conversions that
AVX2 lacks (the 1.5 * 2^52 and 2^52 "magic number" tricks), so nothing stops the vectoriser.
Both are accurate to about one unit in the last place over the ranges the engine uses
(checked in tests/test_generative.py against NumPy).

``exp_nonpositive`` and ``log_positive`` apply them in place to an array (the kernels call
the scalar functions inside their own loops).
"""

from __future__ import annotations

import math

from llvmlite import ir
from numba import njit, types
from numba.core.extending import intrinsic

_LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_LOG2E = 1.4426950408889634
_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD  # bit pattern of sqrt(1/2)
_ROUND = 6755399441055744.0  # 1.5 * 2^52: adding it rounds a double of magnitude < 2^51 to an integer
_ROUND_BITS = 0x4338000000000000
_TWO52 = 4503599627370496.0
_TWO52_BITS = 0x4330000000000000
_BIAS = 1024  # keeps the exponent field of log_pos non-negative (logical shifts only)
EXP_MIN = -700.0  # arguments below this are clamped (results stay normal numbers)
# Taylor coefficients 1/i! of exp on [-ln2/2, ln2/2] (truncation error of degree 12 below 2e-17)
_E = tuple(1.0 / math.factorial(i) for i in range(13))
_FM = {"contract"}  # fused multiply-adds where the machine has them (deterministic on one machine)


@intrinsic
def _bits(typingctx, x):
    """The IEEE-754 bit pattern of a float64 as an int64 (no conversion, a bit cast)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _float(typingctx, x):
    """The float64 whose bit pattern is the int64 ``x`` (a bit cast)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@njit(cache=True, nogil=True, _nrt=False, error_model="numpy", fastmath=_FM)
def exp_le0(v):
    """exp(v) for v in [EXP_MIN, 0] (clamped to that interval).

    exp(v) = 2^k exp(f), k = round(v / ln 2), |f| <= ln(2) / 2; exp(f) by its Taylor series to
    degree 12; 2^k is added to the exponent field of the result.
    """
    v = min(max(v, EXP_MIN), 0.0)
    t = v * _LOG2E + _ROUND
    kf = t - _ROUND
    ki = _bits(t) - _ROUND_BITS
    f = (v - kf * _LN2_HI) - kf * _LN2_LO
    f2 = f * f
    f4 = f2 * f2
    # p = 1 + f + f^2 r(f): the leading terms are added last, to a small remainder
    q0 = (_E[2] + _E[3] * f) + (_E[4] + _E[5] * f) * f2
    q1 = (_E[6] + _E[7] * f) + (_E[8] + _E[9] * f) * f2
    q2 = (_E[10] + _E[11] * f) + _E[12] * f2
    r = (q0 + q1 * f4) + q2 * (f4 * f4)
    p = 1.0 + (f + f2 * r)
    return _float(_bits(p) + (ki << 52))


@njit(cache=True, nogil=True, _nrt=False, error_model="numpy", fastmath=_FM)
def log_pos(x):
    """log(x) for a positive normal number x.

    x = 2^e m with m in [sqrt(1/2), sqrt(2)) read off the bits; log m = 2 atanh(s),
    s = (m - 1) / (m + 1), |s| < 0.172, by its series to s^21 (error below 1e-17).
    """
    b = _bits(x)
    e = (b - _SQRT_HALF_BITS + (_BIAS << 52)) >> 52  # e + _BIAS >= 0
    m = _float(b - ((e - _BIAS) << 52))
    ef = (_float(e + _TWO52_BITS) - _TWO52) - _BIAS
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    z2 = z * z
    z4 = z2 * z2
    b0 = (1.0 + z * (1.0 / 3)) + (1.0 / 5 + z * (1.0 / 7)) * z2
    b1 = (1.0 / 9 + z * (1.0 / 11)) + (1.0 / 13 + z * (1.0 / 15)) * z2
    b2 = (1.0 / 17 + z * (1.0 / 19)) + (1.0 / 21) * z2
    q = 2.0 * s * ((b0 + b1 * z4) + b2 * (z4 * z4))
    return ef * _LN2_HI + (q + ef * _LN2_LO)


@njit(cache=True, nogil=True, _nrt=False, error_model="numpy")
def exp_nonpositive(x, a, c):
    """x[:] = exp(a * x[:] + c) in place, arguments clamped to [EXP_MIN, 0]."""
    for i in range(x.shape[0]):
        x[i] = exp_le0(a * x[i] + c)


@njit(cache=True, nogil=True, _nrt=False, error_model="numpy")
def log_positive(x):
    """x[:] = log(x[:]) in place for positive normal numbers."""
    for i in range(x.shape[0]):
        x[i] = log_pos(x[i])

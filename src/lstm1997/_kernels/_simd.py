r"""Explicit SIMD vectors for the lane kernel: a Numba type for LLVM's ``<W x double>`` and its operations.

Why: the lane kernel (``lanes.py``) used to leave vectorisation to LLVM's loop vectoriser, one short loop
over lanes per arithmetic statement. Each such loop costs its set-up, trip-count checks and remainder
code, and with a few hundred of them per step that overhead was most of the time (the D41 table: at best
about 2x one network). Written with explicit vectors, one statement of the kernel is one vector
instruction per register over all W lanes, with no loop at all (measured on the net-input sum of the
adding net: 2-8x less time per lane than the loop form, ``benchmarks/bench_lanes.py`` for the kernel).

What is here (all inlined by LLVM; none of it is a call at run time):

* ``LaneVec(W)``: W float64 values, one per lane, held as the LLVM vector ``<W x double>``.
* ``vload(a, i, W)`` / ``vstore(a, i, v)``: W consecutive elements of a C-contiguous float64 array ``a``,
  starting at flat element index ``i`` (the lane is the last, contiguous dimension of every lane array,
  so element ``[..., 0]`` of a row starts its lane vector).
* ``vsplat(x, W)``: one scalar in every lane; ``vgather(a, idx, off, W)``: lane ``l`` from element
  ``idx[l] + off`` of ``a`` (a different row per lane: the one-hot inputs' weights).
* ``+ - * /`` and unary ``-`` between vectors, or a vector and a scalar (the scalar is splat first).
* For code written once for scalars and vectors (the ``exp`` of ``_math.py``): ``select_lt(a, b, x, y)``
  (``x if a < b else y``), ``select_gt``, ``nan_to(x, y)`` (``x`` unless it is NaN, then ``y``),
  ``floor(x)`` and ``ldexp2(y, k)`` (``y 2^(k >> 1) 2^(k - (k >> 1))`` for a float ``k`` holding an integer,
  the scaling step of ``exp``). For scalars they compile to exactly the code the scalar ``exp`` had before.
* ``vwhere(c, x, y)``: per lane ``x`` where ``c`` is not zero, else ``y`` (``c`` a vector of 0.0/1.0 flags);
  ``vwhere_eq(a, b, x, y)``: per lane ``x`` where ``a == b``, else ``y``.

**Bit for bit the scalar arithmetic.** Every vector operation is the IEEE operation of its scalar
counterpart, lane by lane, in the same order as written; no fused multiply-add or reassociation
(``fastmath`` stays off, so LLVM may not contract), so a lane computes exactly what the one-network
kernel computes for its network.
"""

import operator

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import config
from numba.core import cgutils
from numba.extending import intrinsic, models, overload, register_model

__all__ = ["LaneVec", "vload", "vstore", "vsplat", "vgather", "vwhere", "vwhere_eq", "select_lt", "select_gt", "nan_to", "floor",
           "ldexp2"]


class LaneVec(types.Type):
    """W float64 lanes, the LLVM vector ``<W x double>``."""

    def __init__(self, width: int):
        self.width = int(width)
        super().__init__(name=f"LaneVec({self.width})")


@register_model(LaneVec)
class _LaneVecModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, ir.VectorType(ir.DoubleType(), fe_type.width))


def _vty(W):
    return ir.VectorType(ir.DoubleType(), W)


def _i32(v):
    return ir.Constant(ir.IntType(32), v)


def _splat(builder, x, W):
    v = builder.insert_element(ir.Constant(_vty(W), ir.Undefined), x, _i32(0))
    return builder.shuffle_vector(v, ir.Constant(_vty(W), ir.Undefined),
                                  ir.Constant(ir.VectorType(ir.IntType(32), W), [0] * W))


def _vec_ptr(context, builder, aryty, ary, idx, W):
    data = context.make_array(aryty)(context, builder, ary).data
    p = builder.gep(data, [idx])
    return p if p.type.is_opaque else builder.bitcast(p, _vty(W).as_pointer())


def _check_array(arr):
    if not (isinstance(arr, types.Array) and arr.dtype == types.float64 and arr.layout == "C"):
        raise TypeError(f"lane vectors load from and store to C-contiguous float64 arrays, not {arr}")


def _literal_width(width):
    W = getattr(width, "literal_value", None)
    if not isinstance(W, int) or W < 1:
        raise TypeError("the vector width must be a compile-time integer constant")
    return W


@intrinsic(prefer_literal=True)
def vload(typingctx, arr, idx, width):
    """The W elements ``arr.flat[idx : idx + W]`` as a vector."""
    _check_array(arr)
    W = _literal_width(width)

    def codegen(context, builder, sig, args):
        i = context.cast(builder, args[1], sig.args[1], types.intp)
        p = _vec_ptr(context, builder, sig.args[0], args[0], i, W)
        return builder.load(p, typ=_vty(W), align=8) if p.type.is_opaque else builder.load(p, align=8)

    return LaneVec(W)(arr, idx, width), codegen


@intrinsic
def vstore(typingctx, arr, idx, v):
    """``arr.flat[idx : idx + W] = v``."""
    _check_array(arr)
    if not isinstance(v, LaneVec):
        return None
    W = v.width

    def codegen(context, builder, sig, args):
        i = context.cast(builder, args[1], sig.args[1], types.intp)
        builder.store(args[2], _vec_ptr(context, builder, sig.args[0], args[0], i, W), align=8)
        return context.get_dummy_value()

    return types.none(arr, idx, v), codegen


@intrinsic(prefer_literal=True)
def vgather(typingctx, arr, idx, off, width):
    """The vector of ``arr.flat[idx[l] + off]`` for lanes ``l < W`` (``idx`` an int64 array of W flat
    element indices): W scalar loads put together in a register."""
    _check_array(arr)
    W = _literal_width(width)
    if not (isinstance(idx, types.Array) and idx.dtype == types.int64):
        return None

    def codegen(context, builder, sig, args):
        data = context.make_array(sig.args[0])(context, builder, args[0]).data
        ix = context.make_array(sig.args[1])(context, builder, args[1]).data
        o = context.cast(builder, args[2], sig.args[2], types.intp)
        v = ir.Constant(_vty(W), ir.Undefined)
        for l in range(W):
            i = builder.load(builder.gep(ix, [ir.Constant(ir.IntType(64), l)]))
            x = builder.load(builder.gep(data, [builder.add(i, o)]))
            v = builder.insert_element(v, x, _i32(l))
        return v

    return LaneVec(W)(arr, idx, off, width), codegen


@intrinsic(prefer_literal=True)
def vsplat(typingctx, x, width):
    """``x`` (a float or int, converted to float64) in each of W lanes."""
    W = _literal_width(width)
    if not isinstance(x, (types.Float, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        return _splat(builder, context.cast(builder, args[0], sig.args[0], types.float64), W)

    return LaneVec(W)(x, width), codegen


def _as_vec(context, builder, ty, val, W):
    if isinstance(ty, LaneVec):
        return val
    return _splat(builder, context.cast(builder, val, ty, types.float64), W)


def _width(*tys):
    ws = {t.width for t in tys if isinstance(t, LaneVec)}
    if len(ws) != 1 or not all(isinstance(t, (LaneVec, types.Float, types.Integer)) for t in tys):
        return None
    return ws.pop()


def _binary(opname):
    @intrinsic
    def op(typingctx, a, b):
        W = _width(a, b)
        if W is None:
            return None

        def codegen(context, builder, sig, args):
            x = _as_vec(context, builder, sig.args[0], args[0], W)
            y = _as_vec(context, builder, sig.args[1], args[1], W)
            return getattr(builder, opname)(x, y)

        return LaneVec(W)(a, b), codegen

    return op


_vadd, _vsub, _vmul, _vdiv = (_binary(n) for n in ("fadd", "fsub", "fmul", "fdiv"))


def _register_operator(op, fn):
    @overload(op)
    def _impl(a, b):
        if _width(a, b) is not None:
            return lambda a, b: fn(a, b)


for _op, _fn in ((operator.add, _vadd), (operator.sub, _vsub), (operator.mul, _vmul),
                 (operator.truediv, _vdiv)):
    _register_operator(_op, _fn)


@intrinsic
def _vneg(typingctx, a):
    def codegen(context, builder, sig, args):
        return builder.fneg(args[0])

    return a(a), codegen


@overload(operator.neg)
def _neg_impl(a):
    if isinstance(a, LaneVec):
        return lambda a: _vneg(a)


def _select(pred):
    """``x if a <pred> b else y`` per lane (ordered comparison: false when a lane of ``a`` is NaN)."""
    @intrinsic
    def sel(typingctx, a, b, x, y):
        W = _width(a, b, x, y)
        if W is None:
            return None

        def codegen(context, builder, sig, args):
            v = [_as_vec(context, builder, t, val, W) for t, val in zip(sig.args, args)]
            return builder.select(builder.fcmp_ordered(pred, v[0], v[1]), v[2], v[3])

        return LaneVec(W)(a, b, x, y), codegen

    return sel


_vsel_lt, _vsel_gt, _vsel_eq, _vsel_ne = (_select(p) for p in ("<", ">", "==", "!="))


def vwhere(c, x, y):
    """Per lane ``x`` where ``c`` is not 0.0, else ``y``."""
    return np.where(c != 0.0, x, y)


@overload(vwhere)
def _vwhere_impl(c, x, y):
    if isinstance(c, LaneVec):
        return lambda c, x, y: _vsel_ne(c, 0.0, x, y)


def vwhere_eq(a, b, x, y):
    """Per lane ``x`` where ``a == b`` (false where a lane of either is NaN), else ``y``."""
    return np.where(a == b, x, y)


@overload(vwhere_eq)
def _vwhere_eq_impl(a, b, x, y):
    if isinstance(a, LaneVec):
        return lambda a, b, x, y: _vsel_eq(a, b, x, y)


# The plain-Python bodies below are what runs with NUMBA_DISABLE_JIT=1 (on floats, or on NumPy arrays
# standing for lane vectors); compiled code uses the overloads that follow each of them.

def select_lt(a, b, x, y):
    """``x if a < b else y`` for scalars or per lane."""
    return (x if a < b else y) if np.ndim(a) == 0 else np.where(a < b, x, y)


def select_gt(a, b, x, y):
    """``x if a > b else y`` for scalars or per lane."""
    return (x if a > b else y) if np.ndim(a) == 0 else np.where(a > b, x, y)


def nan_to(x, y):
    """``x`` unless it is NaN, else ``y``, for scalars or per lane."""
    return (x if x == x else y) if np.ndim(x) == 0 else np.where(x == x, x, y)


@overload(select_lt)
def _select_lt_impl(a, b, x, y):
    if isinstance(a, LaneVec):
        return lambda a, b, x, y: _vsel_lt(a, b, x, y)
    if isinstance(a, types.Float):
        return lambda a, b, x, y: x if a < b else y


@overload(select_gt)
def _select_gt_impl(a, b, x, y):
    if isinstance(a, LaneVec):
        return lambda a, b, x, y: _vsel_gt(a, b, x, y)
    if isinstance(a, types.Float):
        return lambda a, b, x, y: x if a > b else y


@overload(nan_to)
def _nan_to_impl(x, y):
    if isinstance(x, LaneVec):
        return lambda x, y: _vsel_eq(x, x, x, y)
    if isinstance(x, types.Float):
        return lambda x, y: x if x == x else y


@intrinsic
def _vfloor(typingctx, a):
    if not isinstance(a, LaneVec):
        return None

    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(args[0].type, [args[0].type]),
                                            f"llvm.floor.v{a.width}f64")
        return builder.call(fn, [args[0]])

    return a(a), codegen


def floor(x):
    """``floor(x)`` for a scalar or per lane."""
    return np.floor(x)


@overload(floor)
def _floor_impl(x):
    if isinstance(x, LaneVec):
        return lambda x: _vfloor(x)
    if isinstance(x, types.Float):
        return lambda x: np.floor(x)


@intrinsic
def _vldexp2(typingctx, y, kf):
    """Per lane (``kf`` a whole number of magnitude below 2^51): ``k = int64(kf)``, ``k1 = k >> 1``, ``y * double(bits (k1 + 1023) << 52) * double(bits
    (k - k1 + 1023) << 52)``: the scalar ``ldexp2`` below, instruction for instruction."""
    W = _width(y, kf)
    if W is None or not (isinstance(y, LaneVec) and isinstance(kf, LaneVec)):
        return None

    def codegen(context, builder, sig, args):
        ity = ir.VectorType(ir.IntType(64), W)

        def splat_i(v):
            return ir.Constant(ity, [v] * W)

        # k = int64(kf) without a conversion instruction (AVX2 has none for float64 -> int64, so LLVM would
        # convert lane by lane): kf is a whole number with |kf| < 2^51, so kf + 1.5 * 2^52 is exact and its
        # bits minus those of 1.5 * 2^52 are k (the same k as fptosi gives)
        magic = ir.Constant(_vty(W), [6755399441055744.0] * W)
        k = builder.sub(builder.bitcast(builder.fadd(args[1], magic), ity),
                        builder.bitcast(magic, ity))
        k1 = builder.ashr(k, splat_i(1))
        e1 = builder.shl(builder.add(k1, splat_i(1023)), splat_i(52))
        e2 = builder.shl(builder.add(builder.sub(k, k1), splat_i(1023)), splat_i(52))
        s1 = builder.bitcast(e1, _vty(W))
        s2 = builder.bitcast(e2, _vty(W))
        return builder.fmul(builder.fmul(args[0], s1), s2)

    return LaneVec(W)(y, kf), codegen


def ldexp2(y, kf):
    """``y * 2^(k >> 1) * 2^(k - (k >> 1))`` with ``k = int(kf)`` (two factors, so that a result in the
    subnormal range is rounded once), for scalars or per lane."""
    k = np.asarray(kf).astype(np.int64)
    k1 = k >> 1
    s1 = ((k1 + 1023) << 52).view(np.float64)
    s2 = ((k - k1 + 1023) << 52).view(np.float64)
    return y * s1 * s2


@overload(ldexp2)
def _ldexp2_impl(y, kf):
    if isinstance(y, LaneVec):
        return lambda y, kf: _vldexp2(y, kf)
    if isinstance(y, types.Float):
        def impl(y, kf):
            k = np.int64(kf)
            k1 = k >> 1
            s1 = np.int64((k1 + 1023) << 52).view(np.float64)
            s2 = np.int64((k - k1 + 1023) << 52).view(np.float64)
            return y * s1 * s2
        return impl


def _py_vload(arr, idx, width):
    return arr.reshape(-1)[idx:idx + width].copy()


def _py_vstore(arr, idx, v):
    arr.reshape(-1)[idx:idx + len(v)] = v


def _py_vgather(arr, idx, off, width):
    return arr.reshape(-1)[idx[:width] + off].copy()


def _py_vsplat(x, width):
    return np.full(width, float(x))


if config.DISABLE_JIT:          # the kernels run as Python: lane vectors are NumPy arrays
    vload, vstore, vsplat, vgather = _py_vload, _py_vstore, _py_vsplat, _py_vgather

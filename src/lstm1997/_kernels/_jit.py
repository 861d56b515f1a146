"""The one place that says how kernels are compiled.

* ``cache=True``: compiled machine code is cached on disk next to the module, so only the
  first run on a machine pays the compile time.
* ``fastmath=False``: no reassociation or fused multiply-add, so results are bit-for-bit the
  same on every x86-64 machine and every number of workers; and no ``nnan``/``ninf``, so a
  diverging run is seen as NaN/inf instead of being optimised away.
* ``parallel=False``: weight updates are serial and ordered; parallelism is across trials.
* ``boundscheck=False``, ``error_model="numpy"``: no per-access checks, NumPy semantics for
  division (1/0 -> inf, never an exception inside a kernel).

Every kernel is declared with ``@njit(**JIT)``; ``tests/test_kernels.py`` fails on a kernel
that sets flags of its own. The one exception is ``JIT_NOALIAS``, the same flags plus ``noalias``, for the
time loops of the kernels (``lanes.py: _lanes``, ``lstm.py: _run``, ``variants.py: _run``), whose every
array is an argument and a distinct
array: it tells LLVM that the arrays do not overlap, and without it the loop vectoriser guards every
short lane loop with run-time overlap checks (or gives up), which made the lane loops 3-4x slower at
L = 4..16 (measured). Numba has the flag (``Flags.noalias``) but no decorator option for it; the option
is registered below, and if a Numba version lacks the flag the kernel compiles without it (slower, same
numbers: ``noalias`` changes no arithmetic).
"""

import numba

JIT = dict(cache=True, fastmath=False, parallel=False, boundscheck=False, error_model="numpy", nogil=True)

njit = numba.njit


def _register_noalias() -> bool:
    try:
        from numba.core import compiler, cpu, options

        if "noalias" not in getattr(compiler.Flags, "options", {"noalias": None}):
            return False
        if not hasattr(cpu.CPUTargetOptions, "noalias"):
            cpu.CPUTargetOptions.noalias = options.TargetOptions.Mapping("noalias")
        return True
    except Exception:       # another Numba: no noalias, same results
        return False


NOALIAS = _register_noalias()
JIT_NOALIAS = dict(JIT, noalias=True) if NOALIAS else dict(JIT)

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
that sets flags of its own.
"""

import numba

JIT = dict(cache=True, fastmath=False, parallel=False, boundscheck=False, error_model="numpy", nogil=True)

njit = numba.njit

"""Private Numba kernels. Use the validating wrappers in :mod:`lstm1997.learners` and
:mod:`lstm1997.predict`; kernels take only arrays and scalars and check nothing."""

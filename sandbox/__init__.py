"""vipexec.sandbox: what keeps a program in its box, in two layers.

- :mod:`vipexec.sandbox.language` (low): the restricted language, applied at compile time and
  while the program runs, in whatever process runs it.
- :mod:`vipexec.sandbox.isolation` (high): worker processes with deadlines, memory limits and
  seccomp, driven by the :class:`~vipexec.sandbox.isolation.pool.Sandbox` pool.

:mod:`vipexec.sandbox.runner` names the one runner interface both ways of running implement.
"""

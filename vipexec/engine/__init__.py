"""vipexec.engine: compile a program and run it in this process.

The compile pipeline (blocks instrumented, the sandbox language policy applied, builtins
hoisted), in-process execution that fills a :class:`vipexec.core.run.Run`, the ``traced``
decorator and captured program output. It sits on :mod:`vipexec.sandbox.language` and
:mod:`vipexec.core`; process isolation is :mod:`vipexec.sandbox.isolation`, above it.
"""

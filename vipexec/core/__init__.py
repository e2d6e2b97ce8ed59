"""vipexec.core: what a program and its run are.

Programs and their step blocks, the static name analysis and block instrumentation, value
summaries, the tracer, :class:`~vipexec.core.run.Run` and the program tree, plus the errors and
registries everything else shares. The lowest layer: it imports nothing else of vipexec.
"""

"""vipexec.sandbox.isolation: programs in separate worker processes.

The :class:`~vipexec.sandbox.isolation.pool.Sandbox` pool (deadlines, memory limits, restarts),
the worker loop, the call server workers reach the API through, the JSON messages between
them, and the seccomp filter a worker installs on itself.
"""

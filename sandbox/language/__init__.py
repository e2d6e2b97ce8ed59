"""vipexec.sandbox.language: the restricted language programs are written in.

The RestrictedPython policy the compile stage applies, the runtime guards, the admitted
builtins and modules, and the proxies through which a program reaches the caller's objects.
Used in every process that runs a program (in process or in a sandbox worker).
"""

"""Best-of-N choice and reward-guided least-to-most search (``vipexec solve``).

:mod:`.choose` picks one of N finished programs (reward model, random, first that did not
crash, majority vote), :mod:`.search` grows one program a block at a time, keeping the
candidate block a chooser prefers, and :mod:`.command` is the command line's ``solve``.
"""

"""The synthetic benchmark: queries about generated scenes, faults to inject into their programs,
and ground truth computed from the scene files (never from the labelers' own rules).

It sits above :mod:`vipexec.labelers` (it runs and scores them) and below
:mod:`vipexec.generate` (the grammar generator draws its query families from here).
"""

"""Where the suites' virtual clocks start by default (Rig, Peer, Pair): 0,
or just before the wrap when mprun.py runs a suite on a short clock
(``--ticks-period``, e.g. CircuitPython's 2**29), so every scenario crosses it."""
START_MS = 0

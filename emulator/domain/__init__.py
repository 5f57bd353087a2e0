"""The ground floor: the emulator's rules and records as pure code (no I/O, no HTTP, no SQL).

Records and vocabulary, the session state machine, cards, money and masking, the built-in
connectors' rules, the Generic Pay Connector protocol, the callbacks' payloads and signatures,
the simulated caller's scripts. Everything above imports from here; nothing here imports
from above.
"""

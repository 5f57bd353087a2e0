"""The services: what the emulator does, over the store and the one way out.

Payment requests, the simulated caller and its deadlines, settlement (built-in and Generic Pay
Connectors), callback delivery, accounts, authentication, idempotency, the journal, faults, the
change feed, reset. The edges (the Twilio API, the control plane, the inspector) reach them;
they reach the store (``emulator.store``), the outgoing requests (``emulator.outgoing``) and the
domain (``emulator.domain``).
"""

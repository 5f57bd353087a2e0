"""The one way out: every HTTP request the emulator sends (StatusCallbacks, Generic Pay
Connector requests, and voice webhooks to come) goes through :mod:`emulator.outgoing.client`,
which owns the transport, the name look-ups, the answer cap and the host policy."""

"""StatusCallbacks: payloads, signatures, and the durable outbox that delivers them."""

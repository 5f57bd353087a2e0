"""The payments domain: the state machine, card rules, the simulated caller, the service."""

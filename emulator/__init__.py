"""twilio-payments-emulator: a local, stateful emulator of Twilio's Voice Payments resource."""

__version__ = "0.1.0"

__all__ = ["__version__"]

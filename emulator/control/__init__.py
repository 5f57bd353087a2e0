"""The control plane under ``/_emulator``: what tests use to drive and inspect the emulator."""

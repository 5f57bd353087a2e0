"""twilio-payments-emulator: a local, stateful emulator of Twilio's Voice Payments resource."""

from importlib.metadata import PackageNotFoundError, version

try:
    # Set at build time from the git tag (hatch-vcs; see pyproject.toml).
    __version__ = version("twilio-payments-emulator")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

"""Where things are served: the path prefixes, defined once (pure constants).

``TWILIO_PREFIX`` is API v2010's root, as api.twilio.com serves it; ``CONTROL_PREFIX`` is the
emulator's own control plane (and the inspector under it). testing.py spells the control
plane's paths out in full, for readers of the client; it does not import this module.
"""

from __future__ import annotations

from typing import Final

__all__ = ["CONTROL_PREFIX", "HEALTH_PATH", "INSPECTOR_PREFIX", "TWILIO_PREFIX"]

TWILIO_PREFIX: Final = "/2010-04-01"
CONTROL_PREFIX: Final = "/_emulator"
HEALTH_PATH: Final = CONTROL_PREFIX + "/health"
INSPECTOR_PREFIX: Final = CONTROL_PREFIX + "/ui"

"""Run the emulator from tests: a real server process (:class:`EmulatorServer`), and a client
for its control plane (:class:`ControlClient`)::

    with EmulatorServer() as server:
        account = server.control.create_account()
        client = twilio.rest.Client(account.api_key_sid, account.api_key_secret, account.account_sid)
        client.api.base_url = server.base_url
"""

from emulator.testing.control import ENDED_STATES, Account, ControlClient, ControlError
from emulator.testing.server import EmulatorServer, ServerFailed

__all__ = [
    "ENDED_STATES",
    "Account",
    "ControlClient",
    "ControlError",
    "EmulatorServer",
    "ServerFailed",
]

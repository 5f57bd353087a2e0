"""A resolver hook for Python programs, loaded from PYTHONPATH (not a change to their code).

EMULATOR_RESOLVE="api.twilio.com:443=127.0.0.1:8443" makes every connection to
api.twilio.com:443 go to 127.0.0.1:8443, as a docker-compose network alias would (TLS still
checks the certificate against api.twilio.com).
"""

import os
import socket

_rule = os.environ.get("EMULATOR_RESOLVE")
if _rule:
    _source, _target = _rule.split("=")
    _source_host, _source_port = _source.rsplit(":", 1)
    _target_host, _target_port = _target.rsplit(":", 1)
    _getaddrinfo = socket.getaddrinfo

    def _resolve(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host == _source_host and str(port) == _source_port:
            return _getaddrinfo(_target_host, int(_target_port), *args, **kwargs)
        return _getaddrinfo(host, port, *args, **kwargs)

    socket.getaddrinfo = _resolve

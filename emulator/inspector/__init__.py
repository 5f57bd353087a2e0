"""The inspector: a web page, served by the emulator at ``/_emulator/ui/``, that shows every
account, call, session, request and callback live, and acts on them through the control
plane. Server-rendered (Jinja2 templates in ``templates/``), with one small script and one
style sheet in ``static/`` (no build step, nothing fetched from the network)."""

"""``python -m emulator`` does what the ``payments-emulator`` command does."""

from emulator.cli import main

raise SystemExit(main())

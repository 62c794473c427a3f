"""``python -m vocos_stream COMMAND ...``: the ``vocos-stream`` command line."""

from .cli import main

raise SystemExit(main())

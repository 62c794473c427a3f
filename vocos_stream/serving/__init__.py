"""Serving: the websocket audio server, its protocol, a Python client and the static browser page.

``protocol`` is plain Python (bytes, JSON, numpy); ``server``, ``session`` and ``client`` import
``websockets``, so import them where they are used (``import vocos_stream`` never loads this package).
The protocol: ``docs/protocol.md``; running the server: ``docs/server.md``.
"""

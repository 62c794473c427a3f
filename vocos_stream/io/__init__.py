"""Sources and sinks: files now; microphone, speaker and websocket adapters live beside them."""

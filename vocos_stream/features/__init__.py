"""Front-ends: audio -> log-mel, EnCodec codes -> embeddings, audio -> EnCodec codes."""

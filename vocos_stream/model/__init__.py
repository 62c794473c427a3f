"""The Vocos network: backbone (ConvNeXt), ISTFT head and the assembled :class:`Vocos`."""

"""Chapter 08, self-supervised learning. Read in this order: ``ssl`` (NT-Xent, pair and triplet
losses, the linear probe, SimCLR views and training), ``pretext`` (context prediction, the
colour-cast shortcut, counting, the autoencoder), ``figures`` (drawing only). The encoder is
:class:`course_utils.networks.ConvEncoder`.
"""

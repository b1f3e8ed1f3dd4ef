"""Chapter 08, self-supervised learning. Read in this order: ``evaluation`` (the labelled shape
images, the few labels, the linear probe of a frozen encoder, fine-tuning, k-means purity),
``contrastive`` (NT-Xent, pair and triplet losses, SimCLR views and training), ``pretext``
(context prediction, the colour-cast shortcut, counting, the autoencoder), ``figures`` (drawing
only). The encoder is :class:`course_utils.networks.ConvEncoder`; the probe,
:func:`course_utils.logistic.linear_probe`.
"""

"""Chapter 07, interpretability. Read in this order: ``interpret`` (training the audited model,
attribution maps, masks, FGSM, class visualisation, randomised copies and the rank correlation
of maps), ``representations`` (activations, per-unit responses by stage, receptive fields, top
patches, class similarity), ``figures`` (drawing only). The audited model is
:class:`course_utils.networks.SmallCNN`.
"""

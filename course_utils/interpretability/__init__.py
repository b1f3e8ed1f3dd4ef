"""Chapter 07, interpretability. Read in this order: ``interpret`` (attribution maps, masks, FGSM,
class visualisation, randomised copies), ``representations`` (activations, receptive fields,
top patches, class similarity), ``figures`` (drawing only). The audited model is
:class:`course_utils.networks.SmallCNN`.
"""

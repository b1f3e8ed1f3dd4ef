"""Chapter 03, machine learning and backprop. Read in this order: ``layers`` (forward and
backward per layer: loop form, then vectorised), ``gradcheck`` (is a backward pass right?),
``autodiff`` (a scalar reverse-mode engine), ``numpy_models`` (regression and the XOR MLP from
the layers), ``diagnostics`` (gradient norms, dead ReLUs, learned filters on torch networks),
``speed`` (the layers timed), ``figures`` (drawing only). The torch models shared with later
chapters are :mod:`course_utils.networks`.
"""

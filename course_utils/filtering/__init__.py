"""Chapter 01, convolution. Read in this order: ``filters`` (convolution and correlation as a loop
and vectorised, padding, the Gaussian family, derivatives, Gabor, NCC), ``measurements`` (the
chapter's measurements built on them), ``speed`` (the timings), ``figures`` (drawing only).
"""

"""Chapter 10, ethics audits. Read in this order: ``fairness`` (per-group rates, gaps, balancing
weights, the reweighting trainer, the model card), ``camera`` (exposure, tone curve,
quantisation, metering), ``figures`` (drawing only). The chapter's data generator:
``population`` (simulated skin patches of two groups).
"""

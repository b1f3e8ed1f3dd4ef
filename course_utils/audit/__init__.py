"""Chapter 10, ethics audits. Read in this order: ``fairness`` (per-group rates and errors,
gaps, balancing weights, the audited detector, the imbalance and confound experiments, the
model card), ``camera`` (exposure, tone curve, quantisation, metering, codes as network input),
``figures`` (drawing, and the widgets that rerun an experiment). The chapter's data generator:
``population`` (simulated skin patches of two groups, and their composition).
"""

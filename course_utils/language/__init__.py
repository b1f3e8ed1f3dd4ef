"""Chapter 12, vision and language (VQA). Read in this order: ``vqa`` (the Sort-of-CLEVR
generator, the Relation Network and its baselines, question programs and their executor),
``figures`` (drawing only).
"""

"""Chapter 05, video. Read in this order: ``video`` (layouts, causal 3-D convolution, the clip
models), ``rnn`` (cells, BPTT by hand, gradient against distance), ``future`` (K heads by hard
EM), ``hyperbolic`` (the Poincare ball and tree embeddings), ``figures`` (drawing only). The
chapter's data generators: ``clips`` (moving digits), ``sequences`` (recall and branching
futures), ``trees`` (balanced trees).
"""

"""Chapter figures: the plain ``show_*`` functions behind each notebook's plots and widgets.

Algorithms live in the topical modules (``filters``, ``fourier``, ...); these modules only
arrange their results into matplotlib Figures, one module per chapter.
"""

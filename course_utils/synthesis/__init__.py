"""Chapter 09, synthesis. Read in this order: ``generative`` (KL, reparameterisation, modes
covered, the sample judge), ``vae`` (autoencoder and VAE), ``gan`` (losses and the alternating
loop), ``cyclegan`` (translators and the cycle loss), ``figures`` (drawing only). The chapter's
data generator: ``toy2d`` (rings and grids of 2-D Gaussians).
"""

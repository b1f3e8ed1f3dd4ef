"""Chapter 02, the Fourier transform. Read in this order: ``fourier`` (sinusoids, the DFT,
spectra, frequency-domain masks, FFT convolution, hybrid images, compression), ``speed``
(direct against FFT convolution), ``figures`` (drawing only).
"""

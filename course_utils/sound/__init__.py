"""Chapter 11, vision and sound. Read in this order: ``audio`` (the STFT as a loop and framed,
its inverse, what a window resolves, the mel filterbank, SI-SDR, denoising from silence),
``audiovisual`` (the sound CNN, distillation from a vision teacher, mask-based separation),
``figures`` (drawing and players). The chapter's data generator: ``sounds`` (eight generated
sound classes and speech-like bursts).
"""

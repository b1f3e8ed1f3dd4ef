"""Chapter 06, tracking. Read in this order: ``flow`` (warping, Lucas-Kanade in three forms, the
structure tensor, OpenCV's Farneback flow, the mean end-point error over pairs, the attention
copy), ``flow_net`` (the learned flow network), ``colorization`` (Lab, ab bins, the colorizer,
lightness and ab back to RGB), ``tracking`` (tracking by colorization, mask propagation),
``figures`` (drawing only). The chapter's data generator: ``flow_pairs`` (frame pairs and
sequences with exact flow).
"""

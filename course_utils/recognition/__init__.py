"""Chapter 04, object recognition. Read in this order: ``boxes`` (formats, IoU, box deltas),
``anchors``, ``nms``, ``focal`` (focal loss), ``one_stage`` (the anchor detector),
``two_stage`` (proposals and the RoI head), ``detection_metrics`` (AP, mAP, proposal recall),
``segmentation`` (upsampling, U-Net), ``resnet`` (plain vs residual); figures in
``figures_detection``, ``figures_segmentation``, ``figures_resnet``. The scenes are
:mod:`course_utils.data.shapes` (chapter 08 uses them too).
"""

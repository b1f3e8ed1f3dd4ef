"""Chapter 13, 3-D vision. Read in this order: ``stereo`` (disparity, costs, block matching),
``photometric`` (normals and albedo, integrating a height), ``surfaces`` (one shape held four
ways), ``pointcloud`` (PointNet), ``rays`` (cameras and rays), ``nerf`` (the tiny radiance
field); figures in ``figures_stereo``, ``figures_surfaces``, ``figures_pointcloud``,
``figures_nerf``. The chapter's data generators: ``stereograms`` (random dots), ``lambertian``
(lit surfaces), ``primitives`` (point clouds), ``scene3d`` (ray-traced spheres).
"""

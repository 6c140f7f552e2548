"""Signal measured on each sequence's own voxels: world-space regions, statistics, ratios."""

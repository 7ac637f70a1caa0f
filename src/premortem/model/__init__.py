"""Model: typed views over raw manifest dicts (quantities, pod specs, resources, images, selectors, index)."""

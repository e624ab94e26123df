"""Front ends: the standalone CLI and the hatch, PDM and poetry plugins. Importing this package imports no host."""

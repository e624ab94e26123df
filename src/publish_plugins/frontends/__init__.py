"""Front ends: the standalone CLI and the hatch, PDM and poetry plugins; importing this imports no host."""

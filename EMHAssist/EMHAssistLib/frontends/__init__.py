"""The command line, the browser viewer, and the Slicer panel's Qt-free side and self-test."""

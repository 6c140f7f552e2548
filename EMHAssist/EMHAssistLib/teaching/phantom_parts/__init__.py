"""The parts of the teaching phantom, which `teaching.phantom` builds studies from."""

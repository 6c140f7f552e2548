"""Synthetic spine MRI, the built-in teaching cases and the quiz."""

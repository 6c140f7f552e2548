"""Vertebral levels, the cord and its profile, the mass, and cord compression."""

"""EMHAssist's plugins for other Slicer modules; they import Qt and run inside Slicer only."""

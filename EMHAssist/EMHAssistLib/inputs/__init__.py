"""Files and MRML nodes in: case folders, sequence roles, the study, node geometry, the clinical context."""

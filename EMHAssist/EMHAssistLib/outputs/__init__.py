"""Results out, drawn from the plain report: text, JSON, HTML, DICOM SR, CSV, tables, overlays, images."""

"""EMHAssist's Qt-free engine: files or MRML nodes in, plain results out.

Research and teaching software, never a diagnosis.
"""

CAVEAT = (
    "Research and teaching use only: EMHAssist measures and explains, it does not diagnose. "
    "Every result needs a radiologist's reading of the images and the clinical picture."
)

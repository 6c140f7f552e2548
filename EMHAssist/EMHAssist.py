"""EMHAssist for 3D Slicer: the file Slicer loads (research and teaching use only).

It must import on every Slicer's Python, so it holds no code that needs a newer one. On a supported
release (Slicer 5.10 and 5.12, Python 3.12) the module itself comes from EMHAssistSlicer/module.py:
Slicer finds EMHAssist, EMHAssistWidget, EMHAssistLogic and EMHAssistTest here through the import.
On any other (Slicer 5.8 ships Python 3.9, which cannot evaluate the engine's `X | None`
annotations), a module of the same name loads whose panel says which releases EMHAssist supports,
instead of a traceback in the Python console.
"""

import sys

SUPPORTED_RELEASES = "5.10 and 5.12"
SUPPORTED_PYTHON = (3, 12)


def unsupportedMessage(found):
    """What the panel of an unsupported Slicer says, `found` being its Python version (major, minor)."""
    return (
        "EMHAssist runs in 3D Slicer {releases} (Python {wanted}); this Slicer's Python is {found}, so the "
        "module is not loaded. Install EMHAssist from the Extensions Manager of Slicer {releases}."
    ).format(releases=SUPPORTED_RELEASES, wanted="%d.%d" % SUPPORTED_PYTHON, found="%d.%d" % tuple(found[:2]))


if tuple(sys.version_info[:2]) >= SUPPORTED_PYTHON:
    if "EMHAssistSlicer.module" in sys.modules:  # Slicer's Reload reloads this file; the module follows
        import importlib

        importlib.reload(sys.modules["EMHAssistSlicer.module"])
    from EMHAssistSlicer.module import *  # noqa: F401,F403
else:
    import qt
    from slicer.ScriptedLoadableModule import ScriptedLoadableModule, ScriptedLoadableModuleWidget

    class EMHAssist(ScriptedLoadableModule):
        """Stands in for EMHAssist on a Slicer it does not support, saying so."""

        def __init__(self, parent):
            ScriptedLoadableModule.__init__(self, parent)
            self.parent.title = "EMHAssist"
            self.parent.categories = ["Quantification"]
            self.parent.contributors = ["EMHAssist developers"]
            self.parent.helpText = unsupportedMessage(sys.version_info)

    class EMHAssistWidget(ScriptedLoadableModuleWidget):
        def setup(self):
            ScriptedLoadableModuleWidget.setup(self)
            label = qt.QLabel(unsupportedMessage(sys.version_info))
            label.wordWrap = True
            self.layout.addWidget(label)
            self.layout.addStretch(1)

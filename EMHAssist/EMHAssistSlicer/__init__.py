"""EMHAssist's Slicer module (module, parameter node, widget, logic, self-test) in `module`.

EMHAssist.py, the file Slicer loads, imports it only on a Python this code runs on (Slicer 5.10 and
5.12, Python 3.12); a package rather than a file beside EMHAssist.py, so that Slicer does not take it
for a module of its own.
"""

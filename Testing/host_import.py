"""Import EMHAssist as Slicer loads it, under another Python (run as a script by test_slicer_host.py).

    python3.12 host_import.py <module folder> <name> [<name> ...]

Slicer's own modules and binary packages (the names given: slicer, qt, ctk, vtk, numpy, Sample Data,
...) are stood in by permissive objects, since this Python has none of them; everything else is
imported for real: the standard library and EMHAssist's own packages. Prints one JSON object: the
top-level modules the import pulled in, the names EMHAssist.py defines, and the error, if any.
Written for Python 3.9 and later, since it also runs under Slicer 5.8's Python version.
"""

import importlib.abc
import importlib.machinery
import json
import sys
import traceback
import types


class StandIn:
    """Any object of a stood-in module: calls, attributes, items, arithmetic and iteration all work."""

    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return StandIn()

    def __call__(self, *args, **kwargs):
        return StandIn()

    def __getitem__(self, key):
        return StandIn()

    def __iter__(self):
        return iter(())

    def __mro_entries__(self, bases):
        return (StandIn,)

    def __or__(self, other):
        return StandIn()

    __ror__ = __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __or__
    __pow__ = __rpow__ = __matmul__ = __rmatmul__ = __and__ = __rand__ = __or__

    def __neg__(self):
        return StandIn()

    __pos__ = __invert__ = __neg__

    def __float__(self):
        return 0.0

    def __int__(self):
        return 0

    __index__ = __int__

    def __lt__(self, other):
        return False

    __le__ = __gt__ = __ge__ = __lt__


class StandInModule(types.ModuleType):
    """A stood-in module: its class-like names (qt.QDialog, slicer.vtkMRMLScalarVolumeNode) are classes
    that can be subclassed, annotated with and compared; the others (numpy.inf, slicer.util) objects."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = type(name, (StandIn,), {}) if name[:1].isupper() or name.startswith(("vtk", "q")) else StandIn()
        setattr(self, name, value)  # the same object each time, as a module attribute is
        return value


class StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] in self.names:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = StandInModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        pass


def main():
    folder, stood_in = sys.argv[1], sys.argv[2:]
    sys.path.insert(0, folder)
    sys.meta_path.insert(0, StandInFinder(stood_in))
    before = set(sys.modules)
    result = {"python": "%d.%d" % sys.version_info[:2], "error": None, "defines": []}
    try:
        module = __import__("EMHAssist")
        if hasattr(module, "registerSegmentStatisticsPlugin"):
            __import__("EMHAssistPlugins.SegmentStatisticsRatios")  # imported once Slicer's startup completes
        result["defines"] = sorted(name for name in vars(module) if name.startswith("EMHAssist"))
        result["message"] = module.unsupportedMessage(sys.version_info)
    except BaseException:
        result["error"] = traceback.format_exc()
    result["imported"] = sorted({name.split(".")[0] for name in set(sys.modules) - before})
    result["stdlib"] = sorted(getattr(sys, "stdlib_module_names", ()))  # Python 3.10 and later
    print(json.dumps(result))


if __name__ == "__main__":
    main()

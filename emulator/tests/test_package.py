"""The emulator as a package: each module says which AWS pages it follows,
and every public function it defines is typed (its parameters and what it
returns), so a reader of a patched moto method knows what moto hands it."""

import importlib
import inspect
import pkgutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import lifeboat_emulator  # noqa: E402

# __main__ runs the server when imported; it only wires the others together.
MODULES = [m.name for m in pkgutil.iter_modules(lifeboat_emulator.__path__) if m.name != "__main__"]

# Words by which a docstring names the AWS documentation it follows.
AWS_PAGE_WORDS = ("guide", "reference", "quota", "documents", "says")


def _module(name):
    return importlib.import_module(f"lifeboat_emulator.{name}")


def _public_functions(module):
    return [
        (name, fn)
        for name, fn in vars(module).items()
        if inspect.isfunction(fn) and fn.__module__ == module.__name__ and not name.startswith("_")
    ]


def test_every_module_is_found():
    assert set(MODULES) >= {"arc", "cloudwatch", "dynamodb", "globaltables", "quotas", "rds", "route53"}


def test_each_modules_docstring_names_the_aws_pages_it_follows():
    for name in MODULES:
        doc = (_module(name).__doc__ or "").lower()
        assert any(word in doc for word in AWS_PAGE_WORDS), f"{name}.py's docstring names no AWS page"


def test_every_public_function_is_typed():
    untyped = []
    for name in MODULES:
        for fn_name, fn in _public_functions(_module(name)):
            sig = inspect.signature(fn)
            missing = [p.name for p in sig.parameters.values() if p.annotation is inspect.Parameter.empty]
            if sig.return_annotation is inspect.Signature.empty:
                missing.append("the return")
            if missing:
                untyped.append(f"{name}.{fn_name}: {', '.join(missing)}")
    assert not untyped, "untyped: " + "; ".join(untyped)

"""Amazon SP-API adapters (python-amazon-sp-api).

Import an API class from its own module (``from sp_api.api.feeds.feeds import Feeds``), never from
``sp_api.api``: that package's ``__init__`` imports every one of the library's ~60 APIs (~0.5x
``import boto3`` of cold start, issue 14). :func:`_api_package_on_demand` below registers the package
without running its ``__init__``, so importing one API's module loads that API alone; reading a name
from ``sp_api.api`` itself still works (it runs the real ``__init__`` then, once).
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any


def _api_package_on_demand() -> None:
    if "sp_api.api" in sys.modules:  # imported already (a test, a script): nothing to save
        return
    spec = importlib.util.find_spec("sp_api.api")
    if spec is None or spec.loader is None:
        return
    loader = spec.loader
    package = importlib.util.module_from_spec(spec)  # __path__ set: its submodules import as usual

    def __getattr__(name: str) -> Any:  # PEP 562: a name read from the package itself
        if name.startswith("__"):
            raise AttributeError(name)
        del package.__dict__["__getattr__"]
        loader.exec_module(package)
        return getattr(package, name)

    package.__dict__["__getattr__"] = __getattr__
    sys.modules["sp_api.api"] = package
    sys.modules["sp_api"].api = package  # type: ignore[attr-defined]  # as the import system would: sp_api.api.X


_api_package_on_demand()

"""Let the pure tests import ``smart_collection.services`` without Odoo.

The add-on's ``__init__`` imports odoo; registering ``smart_collection`` as a bare package
whose path is the add-on folder skips it, so only the pure core is loaded.
"""

import sys
import types
from pathlib import Path

_ADDON = Path(__file__).parent / "smart_collection"

if "smart_collection" not in sys.modules:
    pkg = types.ModuleType("smart_collection")
    pkg.__path__ = [str(_ADDON)]
    sys.modules["smart_collection"] = pkg

"""Loaded by child Pythons that tests start (see tests/subproc.py): the project's own
warnings are errors there too, as pytest.ini makes them in the test process."""

import warnings

warnings.filterwarnings("error", category=Warning, module=r"newsevents(\.|$)")

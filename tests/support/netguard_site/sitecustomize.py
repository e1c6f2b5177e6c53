"""Guards the sockets of every Python subprocess the tests start: this folder is on their PYTHONPATH.

`tests/conftest.py` puts it there (in `os.environ`, and in the `env` a test hands to
`subprocess.Popen`), so `mediawatch` run as a subprocess, and the forkserver that starts
the crawler's page workers (`crawler/pool.py`), refuse non-loopback connects as the test
process does. The guard is loaded by path: a subprocess need not have the repository on
its `sys.path`.
"""

import importlib.util
import pathlib

_spec = importlib.util.spec_from_file_location("_tests_netguard", pathlib.Path(__file__).parent.parent / "netguard.py")
if _spec is not None and _spec.loader is not None:
    _netguard = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_netguard)
    _netguard.install()

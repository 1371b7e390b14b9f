"""The script sluice starts for a Python function: the runtime is the
module _sluice_runtime beside it, imported rather than run, so that Python
reuses its cached bytecode instead of compiling it at every cold start."""

import _sluice_runtime

_sluice_runtime.main()

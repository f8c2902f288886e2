"""The adapter toolkit (``kitaru_core.toolkit``): what a harness adapter builds on.

``import kitaru`` does not load it; ``import kitaru.toolkit`` (or ``kitaru.toolkit``) does.
"""

from kitaru_core.toolkit import *  # noqa: F403
from kitaru_core.toolkit import __all__ as __all__

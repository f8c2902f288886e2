"""``python -m kitaru``: the same as the ``kitaru`` command."""

from kitaru_core.cli import main

if __name__ == "__main__":
    main()

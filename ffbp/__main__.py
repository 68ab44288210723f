"""``python -m ffbp``: the ``ffbp`` command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())

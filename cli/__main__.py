"""``python -m chargan.cli``: the same as the ``chargan`` command (and what torchrun launches)."""

from chargan.cli.main import main

main()

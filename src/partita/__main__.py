"""``python -m partita``: the ``partita`` command, for environments without the script."""

from partita.cli.main import main

if __name__ == "__main__":
    main()

"""``python -m kubetrust`` runs the command line."""

from kubetrust.cli.main import main

if __name__ == "__main__":
    main()

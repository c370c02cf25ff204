"""The sandbox process: the wiring of every component and its listeners (``server``), and
running in the foreground or detached, found again by its state directory (``process``)."""

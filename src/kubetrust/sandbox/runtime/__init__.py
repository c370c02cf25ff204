"""The sandbox process: wiring and listeners (``server``), running detached (``process``),
HTTP/1.1 serving (``http``) and the private certificate authority (``pki``)."""

"""What every sandbox listener stands on: HTTP/1.1 serving over werkzeug with keep-alive,
strict body framing and TLS negotiated per connection (``http``; its docstring says why not
a maintained server such as cheroot: measured, no faster, and it froze or desynchronised
under the attacks the robustness tests make) and the private certificate authority that
signs every endpoint (``pki``). The bottom layer of the sandbox: it imports nothing else
of it."""

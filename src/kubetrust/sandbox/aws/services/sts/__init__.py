"""STS, implemented by the sandbox itself (moto's STS is never reached): ``actions`` the IAM
action and resource each call is authorized on, ``api`` the actions and their trust
evaluation, ``params`` STS's parameter rules and wording. Web-identity tokens are verified
in :mod:`kubetrust.sandbox.oidc.verifier`."""

"""The AWS services the sandbox serves, one package each, holding what is that service's own:
the IAM actions its calls need, its API semantics where moto lacks them, its errors."""

"""What a client of a running sandbox uses: EKS tokens and administrators' kubeconfigs
(``access``). Imports nothing of the server side."""

"""vipexec.sandbox: the execution policy (RestrictedPython), guards, proxies and worker processes."""

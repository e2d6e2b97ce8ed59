"""vipexec.sandbox: the execution policy, guards, proxies and worker processes."""

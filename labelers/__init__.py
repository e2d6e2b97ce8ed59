"""vipexec.labelers: step labels on three dimensions (relevance, logic, attribute)."""

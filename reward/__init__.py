"""vipexec.reward: the TriAtt-CoT step reward model, its training harness and best-of-N selection."""

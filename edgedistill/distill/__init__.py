"""Teacher fine-tuning and task-specific distillation (needs the `distill` extra: torch, transformers)."""

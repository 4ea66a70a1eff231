"""What differs between tasks, torch-free: tag schemes, entity spans and scores, word alignment."""

"""Loading Hugging Face classifiers, the exportable wrapper every backend converts, and its reference logits."""

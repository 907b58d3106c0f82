"""soda: self-paced knowledge distillation (SODA) of code LLMs as a reproducible pipeline."""

__version__ = "0.1.0"

"""Item codes (category tree, semantic IDs) and the MindRec tokenizer."""

"""Data platform and retrieval: load, chunk, embed, store in Chroma, and search."""

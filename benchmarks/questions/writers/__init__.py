"""The question writers' tools: their slices of NewsArticles and an article printer."""

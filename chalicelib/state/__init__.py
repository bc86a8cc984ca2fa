"""State storage: pure update descriptions, and the stores that apply them (memory, DynamoDB)."""

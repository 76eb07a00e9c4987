"""The answer-quality question set: its checker, its split, and the tools its writers used."""

"""Records, their YAML form and their validation. Imports nothing else of tracker but errors."""

"""tracker: a git-native work-item tracker whose records are YAML files in your repository."""

__version__ = "0.1.0"

"""Version control: reading git history."""

"""Template sends (issue 15 part B): triggered sends, broadcasts and their outcome log (README "Triggered sends",
"Broadcasts")."""

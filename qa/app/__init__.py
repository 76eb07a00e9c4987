"""The chat app: service.py (one index and its answerer, swapped whole after a write), ui.py (the Gradio page and
its API; ui_written.py: written answers), render.py (HTML of answers), adding.py and uploads.py (adding articles),
auth.py (logins). `app.py` at the repository root builds and launches it."""

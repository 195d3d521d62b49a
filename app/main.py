"""NiceGUI main file: `python -m app.main` serves the app; the test `user` fixture runs this file."""

from __future__ import annotations

from app.settings import Settings
from app.wiring import build, serve

settings = Settings()
build(settings)

if __name__ in {'__main__', '__mp_main__'}:
    serve(settings)

"""The Gradio Space: holds the detector, serves the `/predict` API and a small UI."""

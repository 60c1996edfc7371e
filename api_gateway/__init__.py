"""HTTP gateway between the web page and the model Space.

The gateway accepts image uploads, checks them cheaply (size, content sniffing), forwards
the raw bytes to the Gradio Space that holds the detector, and turns the Space's answer
into either a PNG or a JSON document. It carries no ML dependencies so it fits a
serverless deployment.
"""

from api_gateway.app import create_app
from api_gateway.settings import Settings

__all__ = ["Settings", "create_app"]

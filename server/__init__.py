"""netplay's web server: the FastAPI app, the live-training WebSocket and the command line."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("netplay")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+checkout"

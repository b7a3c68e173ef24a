"""netplay's web server: the FastAPI app, the live-training WebSocket and the command line."""

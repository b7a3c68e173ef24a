# netplay: docker build -t netplay . && docker run -p 8000:8000 netplay
# Not built here (no Docker engine on the development machine); kept deliberately plain.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# The CPU build of torch first, from PyTorch's own index: the PyPI wheel pulls in CUDA (GBs).
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY server ./server
COPY playground_models ./playground_models
COPY frontend ./frontend
# A non-editable install: the page's templates and static files travel as package data.
# The fast path's C kernel is built once here, into a cache the server finds without a
# compiler; gcc is removed again to keep the image slim.
ENV NETPLAY_CACHE=/opt/netplay/kernels
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install . && rm -rf /app/server /app/playground_models /app/frontend \
    && python -m playground_models.fastpath \
    && apt-get purge -y gcc libc6-dev && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 netplay
USER netplay
WORKDIR /home/netplay

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=4).status == 200 else 1)"]
# All interfaces inside the container; the page's own origin passes the WebSocket check.
CMD ["netplay", "serve", "--host", "0.0.0.0", "--port", "8000"]

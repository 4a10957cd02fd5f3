# One image for every ragloom process of docker-compose.yml: the API, the UI and the Chroma server
# (`chroma run` from the same locked chromadb, so client and server versions always match).
FROM python:3.11-slim-bookworm

# llama-cpp-python compiles llama.cpp; the portable build (the native one can crash on AMX CPUs).
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake curl \
    && rm -rf /var/lib/apt/lists/*
ENV CMAKE_ARGS="-DGGML_NATIVE=OFF" UV_LINK_MODE=copy RAGAS_DO_NOT_TRACK=true \
    PYTHONUNBUFFERED=1 RAGLOOM_HOME=/data

WORKDIR /app
COPY pyproject.toml requirements.lock ./
RUN pip install --no-cache-dir uv==0.13.9 \
    && uv pip install --system --no-cache -r requirements.lock
COPY . .
RUN uv pip install --system --no-cache --no-deps . \
    && useradd --create-home ragloom && mkdir -p /data /chroma-data \
    && chown ragloom /data /chroma-data
USER ragloom

EXPOSE 8080 8501 8000
CMD ["ragloom", "serve", "--host", "0.0.0.0", "--port", "8080"]

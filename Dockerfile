FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
COPY matching ./matching
COPY graph ./graph
COPY migrations ./migrations
RUN pip install --no-cache-dir . && useradd --create-home belonging
USER belonging
ENV BELONGING_DATA_DIR=/home/belonging/data
EXPOSE 8000
CMD ["belonging", "serve", "--host", "0.0.0.0", "--port", "8000"]

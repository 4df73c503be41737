FROM python:3.11-slim
WORKDIR /app
# Exact dependency versions, checked against their hashes (make lock refreshes the file).
COPY requirements/runtime.lock ./requirements/
RUN pip install --no-cache-dir --require-hashes -r requirements/runtime.lock
COPY pyproject.toml README.md ./
COPY service ./service
COPY matching ./matching
COPY graph ./graph
COPY migrations ./migrations
RUN pip install --no-cache-dir --no-deps . && useradd --create-home belonging
USER belonging
ENV BELONGING_DATA_DIR=/home/belonging/data
EXPOSE 8000
CMD ["belonging", "serve", "--host", "0.0.0.0", "--port", "8000"]

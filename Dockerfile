# The gateway as a container: the wheel, on the locked dependencies, run as a user without privileges.
#   docker build -t sms-gateway .
#   docker run -e DATABASE_URL=... -e REDIS_URL=... -e GATEWAY_API_TOKEN=... -p 8080:8080 -p 9090:9090 sms-gateway
# With no DATABASE_URL / REDIS_URL it starts the embedded servers under /var/lib/sms-gateway/var (one container
# alone, for trying it); deploy/compose/compose.yml runs it as it would run in production.
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY sql ./sql
RUN pip wheel --no-cache-dir --no-deps -w /dist .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/sms-gateway sms-gateway
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock && rm /tmp/requirements.lock
COPY --from=wheel /dist/ /tmp/dist/
RUN pip install --no-cache-dir --no-deps /tmp/dist/*.whl && rm -r /tmp/dist
USER sms-gateway
WORKDIR /var/lib/sms-gateway
ENV GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8080 \
    GATEWAY_SERVER__OPS_PORT=9090 \
    GATEWAY_LOG__FORMAT=json \
    PYTHONUNBUFFERED=1
EXPOSE 8080 9090
HEALTHCHECK --interval=10s --timeout=6s --start-period=30s --retries=3 CMD ["sms-gateway", "health"]
# SIGTERM finishes requests in flight and sends in flight (carrier.send_timeout), then exits 0.
STOPSIGNAL SIGTERM
CMD ["sms-gateway", "serve"]

# cc-router headless (`serve`) image: a static binary on an empty base,
# running as a non-root user. Credentials are never baked in: mount your
# ~/.cc-router directory (the whole directory, because token refreshes are
# written to a temporary file beside accounts.json and renamed over it).
#
#   docker build -t cc-router .
#   printf '%s' "$(openssl rand -hex 32)" > proxy-secret
#   docker run -d --user "$(id -u):$(id -g)" --stop-timeout 40 -p 127.0.0.1:3456:3456 \
#     -v "$HOME/.cc-router:/data" -v "$PWD/proxy-secret:/run/secrets/proxy-secret:ro" \
#     cc-router serve --secret-file /run/secrets/proxy-secret
#
# --user runs it as you, so it can read and rewrite your 0600 accounts.json
# (the image's own user, 65532, owns only the empty /data it ships with).
# --stop-timeout 40 gives streams in flight the 30s serve waits for them on
# SIGTERM (Docker's default is 10s).
# Inside the container the router listens on 0.0.0.0, so a proxy secret is
# required: clients send it as `Authorization: Bearer <secret>` (set
# ANTHROPIC_AUTH_TOKEN to it in Claude Code).

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=docker
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/cc-router . \
 && mkdir -p /out/data && chown 65532:65532 /out/data && chmod 0700 /out/data

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/cc-router /usr/local/bin/cc-router
COPY --from=build --chown=65532:65532 /out/data /data
ENV CC_ROUTER_HOME=/data \
    CC_ROUTER_LISTEN=0.0.0.0:3456 \
    HOME=/data
USER 65532:65532
VOLUME ["/data"]
EXPOSE 3456
ENTRYPOINT ["/usr/local/bin/cc-router"]
CMD ["serve"]

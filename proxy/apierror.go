package proxy

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

// Anthropic error types the router itself answers with.
const (
	errInvalidRequest  = "invalid_request_error"
	errAuthentication  = "authentication_error"
	errNotFound        = "not_found_error"
	errRequestTooLarge = "request_too_large"
	errRateLimit       = "rate_limit_error"
	errAPI             = "api_error"
	errOverloaded      = "overloaded_error"
)

// apiErrorBody renders an error in Anthropic's shape:
// {"type":"error","error":{"type":…,"message":…},"request_id":…}.
func apiErrorBody(typ, msg string) []byte {
	var id [12]byte
	_, _ = rand.Read(id[:])
	b, _ := json.Marshal(struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}{
		Type: "error",
		Error: struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		}{typ, msg},
		RequestID: "req_ccrouter_" + hex.EncodeToString(id[:]),
	})
	return b
}

// writeAPIError answers the client with an Anthropic-shaped error.
func writeAPIError(w http.ResponseWriter, status int, typ, msg string) {
	b := apiErrorBody(typ, msg)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// apiErrorResponse is an Anthropic-shaped error as an upstream response,
// for the round tripper to hand to the reverse proxy.
func apiErrorResponse(req *http.Request, status int, typ, msg string) *http.Response {
	b := apiErrorBody(typ, msg)
	h := make(http.Header)
	h.Set("Content-Type", "application/json")
	return &http.Response{
		Status:        strconv.Itoa(status) + " " + http.StatusText(status),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(b)),
		ContentLength: int64(len(b)),
		Request:       req,
	}
}

package proxy

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"testing"
	"time"
)

// FuzzRateLimitHeaders feeds arbitrary unified rate-limit headers (and
// retry-after) to the parser. Whatever arrives, the account's view must
// stay sane: utilizations finite and non-negative, the derived times
// computable, and the health document that shows them must still encode.
func FuzzRateLimitHeaders(f *testing.F) {
	f.Add("allowed", "allowed", "0.42", "0.1", "1767225600", "1767225600", "1767830400", "five_hour", "30")
	f.Add("rejected", "rejected", "1.02", "0.9", "", "1767225600.5", "", "seven_day_opus", "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add("allowed_warning", "", "Inf", "NaN", "1e300", "-5", "9223372036854775807", "", "-1")
	f.Add("", "", "", "", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, status, status5h, util5h, util7d, reset, reset5h, reset7d, claim, retryAfter string) {
		now := time.Unix(1767200000, 0)
		h := http.Header{}
		set := func(k, v string) {
			if v != "" {
				h.Set(k, v)
			}
		}
		set(hdrUnifiedStatus, status)
		set(hdrUnified5hStatus, status5h)
		set(hdrUnified7dStatus, status)
		set(hdrUnified5hUtil, util5h)
		set(hdrUnified7dUtil, util7d)
		set(hdrUnifiedReset, reset)
		set(hdrUnified5hReset, reset5h)
		set(hdrUnified7dReset, reset7d)
		set(hdrUnifiedClaim, claim)

		var rl rateLimit
		rl.merge(h, now)
		for name, u := range map[string]float64{"5h": rl.Util5h, "7d": rl.Util7d} {
			if math.IsNaN(u) || math.IsInf(u, 0) || u < 0 {
				t.Fatalf("%s utilization %v from %q/%q: want finite and >= 0", name, u, util5h, util7d)
			}
		}
		rl.rejectedUntil(now)
		rl.resetHint(now)
		a := &account{rl: rl}
		a.info.Enabled = true
		a.info.SessionLimitPercent = 80
		a.status(now)
		ah := AccountHealth{Utilization5h: rl.effective5h(now), Utilization7d: rl.effective7d(now),
			Reset5h: rl.Reset5h, Reset7d: rl.Reset7d, RateLimitStatus: rl.Status, RepresentativeClaim: rl.Claim}
		if _, err := json.Marshal(ah); err != nil {
			t.Fatalf("the health entry no longer encodes after headers %v: %v", h, err)
		}
		if d, ok := parseRetryAfter(retryAfter, now); ok && d < 0 {
			t.Fatalf("retry-after %q gave a negative delay %v", retryAfter, d)
		}
	})
}

// sseSeed is a realistic stream with usage in message_start and
// message_delta.
const sseSeed = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":256,\"cache_read_input_tokens\":2048,\"output_tokens\":1}}}\n\n" +
	"event: ping\ndata: {\"type\":\"ping\"}\n\n" +
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n" +
	"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":42}}\n\n" +
	"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"

// FuzzSSEUsage checks that the usage scanner finds the same usage however
// the stream is cut into pieces (network reads split anywhere), and never
// panics on hostile input.
func FuzzSSEUsage(f *testing.F) {
	f.Add([]byte(sseSeed), uint16(7))
	f.Add([]byte(bytes.ReplaceAll([]byte(sseSeed), []byte("\n"), []byte("\r\n"))), uint16(1))
	f.Add([]byte("event: message_start\ndata: {\"message\":{\"usage\":{\"input_tokens\":-1}}}\n\n"), uint16(3))
	f.Add([]byte("event: message_delta\ndata: "+string(bytes.Repeat([]byte("x"), maxSSELine+10))+"\n\n"), uint16(100))
	f.Fuzz(func(t *testing.T, stream []byte, piece uint16) {
		var whole sseUsage
		whole.Write(stream)
		var cut sseUsage
		n := int(piece)%64 + 1
		for p := stream; len(p) > 0; {
			k := min(n, len(p))
			cut.Write(p[:k])
			p = p[k:]
		}
		if whole.usage != cut.usage {
			t.Fatalf("usage read whole %+v, in pieces of %d %+v", whole.usage, n, cut.usage)
		}
		if cap(cut.line) > 2*maxSSELine+int(piece)+64 {
			t.Fatalf("the scanner kept a %d-byte line buffer, bound is about %d", cap(cut.line), maxSSELine)
		}
	})
}

// FuzzJSONUsage checks that the usage found at the end of a JSON body does
// not depend on how the body was split into reads.
func FuzzJSONUsage(f *testing.F) {
	f.Add([]byte(`{"id":"msg_1","type":"message","content":[{"type":"text","text":"hi \"usage\":"}],"usage":{"input_tokens":3,"output_tokens":9}}`), uint16(5))
	f.Add([]byte(`{"usage":{"input_tokens":1}, "x":"`+string(bytes.Repeat([]byte("y"), 3*jsonTailKeep))+`","usage":{"output_tokens":2}}`), uint16(4000))
	f.Fuzz(func(t *testing.T, body []byte, piece uint16) {
		var whole, cut jsonUsage
		whole.Write(body)
		n := int(piece)%(2*jsonTailKeep) + 1
		for p := body; len(p) > 0; {
			k := min(n, len(p))
			cut.Write(p[:k])
			p = p[k:]
		}
		uw, okw := whole.result()
		uc, okc := cut.result()
		if uw != uc || okw != okc {
			t.Fatalf("usage whole %+v (%v), in pieces of %d %+v (%v)", uw, okw, n, uc, okc)
		}
	})
}

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	b []byte
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), c.n, len(c.b))
	copy(p, c.b[:k])
	c.b = c.b[k:]
	return k, nil
}

// FuzzReadFirstEvent checks the failover's first-event reader: what it
// holds back is exactly the start of the stream (so the replay to the
// client is byte-exact), and the event it finds does not depend on how the
// stream arrived.
func FuzzReadFirstEvent(f *testing.F) {
	f.Add([]byte(sseSeed), uint8(3))
	f.Add([]byte(": comment\n\nevent: ping\ndata: {}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"), uint8(1))
	f.Add([]byte("event: error\r\ndata: {\"error\":{\"type\":\"rate_limit_error\"}}\r\n\r\n"), uint8(2))
	f.Add([]byte("data: a\ndata: b\n\n"), uint8(200))
	f.Fuzz(func(t *testing.T, stream []byte, piece uint8) {
		const limit = 1 << 10
		heldA, nameA, dataA, errA := readFirstEvent(bytes.NewReader(stream), limit)
		heldB, nameB, dataB, errB := readFirstEvent(&chunkReader{b: stream, n: int(piece)%16 + 1}, limit)
		for _, held := range [][]byte{heldA, heldB} {
			if !bytes.HasPrefix(stream, held) {
				t.Fatalf("held %q is not a prefix of the stream %q", held, stream)
			}
		}
		completeA := errA == nil && nameA != ""
		completeB := errB == nil && nameB != ""
		if completeA && completeB && (nameA != nameB || !bytes.Equal(dataA, dataB)) {
			t.Fatalf("first event %q %q whole, %q %q in pieces", nameA, dataA, nameB, dataB)
		}
		errorType(dataA)
	})
}

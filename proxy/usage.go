package proxy

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
)

// usageJSON is the usage object of a message; pointers tell absent from 0.
type usageJSON struct {
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
}

// apply overwrites the fields of u that j carries (message_delta counts
// are cumulative, so the latest value wins).
func (j *usageJSON) apply(u *Usage) {
	set := func(dst *int64, src *int64) {
		if src != nil {
			*dst = *src
		}
	}
	set(&u.InputTokens, j.InputTokens)
	set(&u.OutputTokens, j.OutputTokens)
	set(&u.CacheReadInputTokens, j.CacheReadInputTokens)
	set(&u.CacheCreationInputTokens, j.CacheCreationInputTokens)
}

// maxSSELine bounds the line the SSE scanner keeps; longer lines (large
// content deltas) are skipped, since usage lives in short ones.
const maxSSELine = 64 << 10

// sseUsage reads token usage out of a Messages SSE stream fed to it in
// arbitrary pieces, keeping at most one line.
type sseUsage struct {
	usage    Usage
	event    []byte // current event name
	line     []byte
	overflow bool // the current line is too long and is being skipped
}

func (s *sseUsage) Write(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.keep(p)
			return
		}
		s.keep(p[:i])
		if !s.overflow {
			s.handleLine(bytes.TrimSuffix(s.line, []byte{'\r'}))
		}
		s.line, s.overflow = s.line[:0], false
		p = p[i+1:]
	}
}

func (s *sseUsage) keep(p []byte) {
	if s.overflow {
		return
	}
	if len(s.line)+len(p) > maxSSELine {
		s.overflow = true
		s.line = s.line[:0]
		return
	}
	s.line = append(s.line, p...)
}

func (s *sseUsage) handleLine(line []byte) {
	switch {
	case len(line) == 0:
		s.event = s.event[:0]
	case bytes.HasPrefix(line, []byte("event:")):
		s.event = append(s.event[:0], bytes.TrimSpace(line[len("event:"):])...)
	case bytes.HasPrefix(line, []byte("data:")):
		data := bytes.TrimSpace(line[len("data:"):])
		switch string(s.event) {
		case "message_start":
			var m struct {
				Message struct {
					Usage usageJSON `json:"usage"`
				} `json:"message"`
			}
			if json.Unmarshal(data, &m) == nil {
				m.Message.Usage.apply(&s.usage)
			}
		case "message_delta":
			var m struct {
				Usage usageJSON `json:"usage"`
			}
			if json.Unmarshal(data, &m) == nil {
				m.Usage.apply(&s.usage)
			}
		}
	}
}

// jsonTailKeep is how much of a JSON body's end is kept to find the
// top-level usage object, which Anthropic writes last.
const jsonTailKeep = 8 << 10

// jsonUsage finds the usage of a JSON message from the end of its body.
type jsonUsage struct {
	tail []byte
}

func (j *jsonUsage) Write(p []byte) {
	if len(p) >= jsonTailKeep {
		j.tail = append(j.tail[:0], p[len(p)-jsonTailKeep:]...)
		return
	}
	if len(j.tail)+len(p) > 2*jsonTailKeep {
		keep := jsonTailKeep - len(p)
		j.tail = append(j.tail[:0], j.tail[len(j.tail)-keep:]...)
	}
	j.tail = append(j.tail, p...)
}

// result decodes the last `"usage":{…}` in the kept tail.
func (j *jsonUsage) result() (Usage, bool) {
	key := []byte(`"usage"`)
	for end := len(j.tail); ; {
		i := bytes.LastIndex(j.tail[:end], key)
		if i < 0 {
			return Usage{}, false
		}
		end = i
		if i > 0 && j.tail[i-1] == '\\' { // inside a string
			continue
		}
		rest := bytes.TrimLeft(j.tail[i+len(key):], " \t\r\n")
		if len(rest) == 0 || rest[0] != ':' {
			continue
		}
		var u usageJSON
		if json.NewDecoder(bytes.NewReader(rest[1:])).Decode(&u) != nil {
			continue
		}
		var out Usage
		u.apply(&out)
		return out, true
	}
}

// usageKind says how a response body carries usage.
type usageKind int

const (
	usageNone usageKind = iota
	usageSSE
	usageJSONBody
)

// meteredBody passes a response body through unchanged while reading the
// usage out of it; done runs once, with what was found, when the body is
// closed.
type meteredBody struct {
	rc   io.ReadCloser
	kind usageKind
	sse  sseUsage
	js   jsonUsage
	once sync.Once
	done func(Usage)
}

func newMeteredBody(rc io.ReadCloser, kind usageKind, done func(Usage)) *meteredBody {
	return &meteredBody{rc: rc, kind: kind, done: done}
}

func (m *meteredBody) Read(p []byte) (int, error) {
	n, err := m.rc.Read(p)
	if n > 0 {
		switch m.kind {
		case usageSSE:
			m.sse.Write(p[:n])
		case usageJSONBody:
			m.js.Write(p[:n])
		}
	}
	return n, err
}

func (m *meteredBody) Close() error {
	err := m.rc.Close()
	m.once.Do(func() {
		var u Usage
		switch m.kind {
		case usageSSE:
			u = m.sse.usage
		case usageJSONBody:
			u, _ = m.js.result()
		}
		m.done(u)
	})
	return err
}

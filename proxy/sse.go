package proxy

import (
	"bytes"
	"encoding/json"
	"io"
)

// readFirstEvent reads body until the first SSE event other than ping (or
// a comment) is complete, and returns everything read (to be replayed to
// the client) with that event's name and data. It stops early, with name
// "", once max bytes are held without a complete event, and returns the
// read error (io.EOF included) if the body ends first.
func readFirstEvent(body io.Reader, max int) (held []byte, name string, data []byte, err error) {
	buf := make([]byte, 0, 4096)
	scanned := 0 // buf[:scanned] holds only complete events already looked at
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, rerr := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		for {
			end, next := eventEnd(buf[scanned:])
			if end < 0 {
				break
			}
			block := buf[scanned : scanned+end]
			scanned += next
			name, data = parseEvent(block)
			if name == "" && data == nil || name == "ping" {
				continue
			}
			return buf, name, data, nil
		}
		if rerr != nil {
			return buf, "", nil, rerr
		}
		if len(buf) >= max {
			return buf, "", nil, nil
		}
	}
}

// eventEnd finds the blank line ending the first event in b: end is where
// the event's text stops, next where the following one starts; -1 if b
// holds no complete event.
func eventEnd(b []byte) (end, next int) {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		j := i + 1
		if j < len(b) && b[j] == '\r' {
			j++
		}
		if j < len(b) && b[j] == '\n' {
			return i, j + 1
		}
	}
	return -1, -1
}

// parseEvent reads the event name and data of one SSE event block.
func parseEvent(block []byte) (name string, data []byte) {
	for line := range bytes.SplitSeq(block, []byte{'\n'}) {
		line = bytes.TrimSuffix(line, []byte{'\r'})
		switch {
		case bytes.HasPrefix(line, []byte("event:")):
			name = string(bytes.TrimSpace(line[len("event:"):]))
		case bytes.HasPrefix(line, []byte("data:")):
			d := bytes.TrimSpace(line[len("data:"):])
			if data == nil {
				data = d
			} else {
				data = append(append(data[:len(data):len(data)], '\n'), d...)
			}
		}
	}
	return name, data
}

// errorType reads error.type from an Anthropic error document.
func errorType(data []byte) string {
	var e struct {
		Error struct {
			Type string `json:"type"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &e) != nil {
		return ""
	}
	return e.Error.Type
}

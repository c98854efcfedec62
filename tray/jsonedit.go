package tray

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// This file edits JSON text in place: it finds an object's members by byte
// offset and splices new text in or old text out, so every byte it was not
// asked to change (other keys, their order, odd spacing) stays as it was.
// Callers validate the whole document first; the scanners assume valid JSON.

// jsonMember is one "name": value pair of an object, by byte offsets.
type jsonMember struct {
	name     string
	keyStart int // the opening quote of the name
	valStart int
	valEnd   int // one past the value's last byte
}

// jsonObject is an object's members and the offsets of its braces.
type jsonObject struct {
	open, close int
	members     []jsonMember
}

func (o jsonObject) find(name string) (int, bool) {
	// The last duplicate wins, as for encoding/json.
	for i := len(o.members) - 1; i >= 0; i-- {
		if o.members[i].name == name {
			return i, true
		}
	}
	return -1, false
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(data []byte, i int) int {
	for i < len(data) && isJSONSpace(data[i]) {
		i++
	}
	return i
}

// valueEnd returns the offset just past the JSON value starting at i.
func valueEnd(data []byte, i int) (int, error) {
	dec := json.NewDecoder(bytes.NewReader(data[i:]))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return 0, err
	}
	return i + int(dec.InputOffset()), nil
}

// parseObject reads the object whose '{' is at i.
func parseObject(data []byte, i int) (jsonObject, error) {
	if i >= len(data) || data[i] != '{' {
		return jsonObject{}, errors.New("not an object")
	}
	obj := jsonObject{open: i}
	i++
	for {
		i = skipSpace(data, i)
		if i >= len(data) {
			return obj, errors.New("unterminated object")
		}
		switch data[i] {
		case '}':
			obj.close = i
			return obj, nil
		case ',':
			i = skipSpace(data, i+1)
		}
		m := jsonMember{keyStart: i}
		end, err := valueEnd(data, i)
		if err != nil {
			return obj, err
		}
		if err := json.Unmarshal(data[i:end], &m.name); err != nil {
			return obj, err
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return obj, errors.New("missing colon")
		}
		m.valStart = skipSpace(data, i+1)
		if m.valEnd, err = valueEnd(data, m.valStart); err != nil {
			return obj, err
		}
		obj.members = append(obj.members, m)
		i = m.valEnd
	}
}

// lineIndent is the whitespace that begins the line holding offset i, and
// whether only whitespace precedes i on that line.
func lineIndent(data []byte, i int) (string, bool) {
	start := bytes.LastIndexByte(data[:i], '\n') + 1
	prefix := data[start:i]
	if len(bytes.TrimLeft(prefix, " \t")) != 0 {
		n := 0
		for n < len(prefix) && (prefix[n] == ' ' || prefix[n] == '\t') {
			n++
		}
		return string(prefix[:n]), false
	}
	return string(prefix), true
}

func splice(data []byte, from, to int, text string) []byte {
	out := make([]byte, 0, len(data)-(to-from)+len(text))
	out = append(out, data[:from]...)
	out = append(out, text...)
	return append(out, data[to:]...)
}

// indentUnit guesses one level of the document's indentation.
func indentUnit(data []byte, top jsonObject) string {
	if len(top.members) > 0 {
		if ind, own := lineIndent(data, top.members[0].keyStart); own && ind != "" {
			return ind
		}
	}
	return "  "
}

// insertMember adds "name": value as the object's last member, laid out
// like its siblings (one per line, or all on one line). value is rendered
// for the member's indentation by render(indent, unit).
func insertMember(data []byte, obj jsonObject, unit, name string, render func(indent, unit string) string) []byte {
	key, _ := json.Marshal(name)
	if n := len(obj.members); n > 0 {
		last := obj.members[n-1]
		indent, ownLine := lineIndent(data, last.keyStart)
		if !ownLine {
			return splice(data, last.valEnd, last.valEnd, ", "+string(key)+": "+render("", ""))
		}
		return splice(data, last.valEnd, last.valEnd, ",\n"+indent+string(key)+": "+render(indent, unit))
	}
	base, _ := lineIndent(data, obj.open)
	inner := base + unit
	return splice(data, obj.open+1, obj.close, "\n"+inner+string(key)+": "+render(inner, unit)+"\n"+base)
}

// removeMember deletes member idx and the comma that tied it to a sibling,
// undoing insertMember byte for byte.
func removeMember(data []byte, obj jsonObject, idx int) []byte {
	switch {
	case len(obj.members) == 1:
		return splice(data, obj.open+1, obj.close, "")
	case idx > 0:
		return splice(data, obj.members[idx-1].valEnd, obj.members[idx].valEnd, "")
	default:
		return splice(data, obj.members[0].keyStart, obj.members[1].keyStart, "")
	}
}

// SyntaxError is a malformed JSON file, with the position of the fault.
type SyntaxError struct {
	Path         string // the file
	Line, Column int    // where the fault is, from 1
	Msg          string // what is wrong
}

// Error gives the file, line and column, then the fault.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.Path, e.Line, e.Column, e.Msg)
}

// checkJSONObject validates data as one JSON object and returns its
// top-level members, or an error naming path, line and column.
func checkJSONObject(path string, data []byte) (jsonObject, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	err := dec.Decode(&v)
	if err == nil {
		// Anything but a clean end after the value is trailing data,
		// including bytes that are not JSON at all ("{}A").
		if _, tokErr := dec.Token(); !errors.Is(tokErr, io.EOF) {
			off := int(dec.InputOffset())
			line, col := lineColumn(data, off)
			return jsonObject{}, &SyntaxError{path, line, col, "unexpected data after the top-level value"}
		}
	}
	if err != nil {
		var se *json.SyntaxError
		off := len(data)
		msg := err.Error()
		if errors.As(err, &se) {
			off = max(int(se.Offset)-1, 0) // Offset is just past the bad byte
		} else if err.Error() == "EOF" {
			msg = "the file is empty"
		}
		line, col := lineColumn(data, off)
		return jsonObject{}, &SyntaxError{path, line, col, strings.TrimPrefix(msg, "json: ")}
	}
	start := skipSpace(data, 0)
	if _, ok := v.(map[string]any); !ok {
		line, col := lineColumn(data, start)
		return jsonObject{}, &SyntaxError{path, line, col, "the top level is not a JSON object"}
	}
	return parseObject(data, start)
}

// lineColumn converts a byte offset to 1-based line and column.
func lineColumn(data []byte, off int) (int, int) {
	off = min(max(off, 0), len(data))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := off - bytes.LastIndexByte(before, '\n')
	return line, col
}

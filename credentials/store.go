package credentials

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// FileError is a problem with a file's contents, located by line and
// column (1-based; the column counts bytes). It never quotes a value.
type FileError struct {
	Path   string
	Line   int
	Column int
	Msg    string
}

// Error is "path:line:column: message", the form editors jump to.
func (e *FileError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.Path, e.Line, e.Column, e.Msg)
}

// fileErrorAt builds a FileError for byte offset off of data.
func fileErrorAt(path string, data []byte, off int64, format string, args ...any) *FileError {
	if off < 0 {
		off = 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := int(off) - bytes.LastIndexByte(data[:off], '\n')
	return &FileError{Path: path, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

// jsonErrorAt converts an encoding/json error into a FileError. base is the
// offset of the decoded text within data.
func jsonErrorAt(path string, data []byte, base int64, err error) *FileError {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		// A Decoder's offsets are relative to the value it was reading;
		// scanning the whole text again gives the absolute position of the
		// same (first) syntax error.
		var whole *json.SyntaxError
		if errors.As(json.Unmarshal(data, new(any)), &whole) {
			if whole.Offset >= int64(len(data)) {
				return fileErrorAt(path, data, int64(len(data)), "invalid JSON: unexpected end of file")
			}
			return fileErrorAt(path, data, whole.Offset-1, "invalid JSON: %s", whole.Error())
		}
		if syn != nil {
			return fileErrorAt(path, data, base+syn.Offset-1, "invalid JSON: %s", syn.Error())
		}
		return fileErrorAt(path, data, int64(len(data)), "invalid JSON: unexpected end of file")
	case errors.As(err, &typ):
		what := typ.Field
		if what == "" {
			what = "value"
		}
		return fileErrorAt(path, data, base+typ.Offset-1, "%s must be %s, not a JSON %s", what, typ.Type, typ.Value)
	case errors.Is(err, io.EOF):
		return fileErrorAt(path, data, int64(len(data)), "invalid JSON: unexpected end of file")
	}
	return fileErrorAt(path, data, base, "invalid JSON: %v", err)
}

// rawField is one member of a JSON object as found in the file.
type rawField struct {
	key string
	val json.RawMessage
	off int64 // offset of the value in the file
}

// parseObject splits one JSON object into its members, in order. off is the
// object's offset in data, for errors.
func parseObject(path string, data []byte, off int64, obj json.RawMessage) ([]rawField, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil {
		return nil, jsonErrorAt(path, data, off, err)
	} else if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, fileErrorAt(path, data, off, "expected a JSON object")
	}
	var fields []rawField
	seen := map[string]bool{}
	for dec.More() {
		keyOff := off + skipSpace(obj, dec.InputOffset())
		t, err := dec.Token()
		if err != nil {
			return nil, jsonErrorAt(path, data, off, err)
		}
		key := t.(string) // object keys are always strings
		if seen[key] {
			return nil, fileErrorAt(path, data, keyOff, "field %q appears twice", key)
		}
		seen[key] = true
		valOff := off + skipSpace(obj, dec.InputOffset())
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, jsonErrorAt(path, data, off, err)
		}
		fields = append(fields, rawField{key: key, val: v, off: valOff})
	}
	return fields, nil
}

// field returns the member k of fields, or nil.
func field(fields []rawField, k string) *rawField {
	for i := range fields {
		if fields[i].key == k {
			return &fields[i]
		}
	}
	return nil
}

// skipSpace returns the offset of the first byte at or after i that is not
// JSON whitespace, a colon or a comma.
func skipSpace(b []byte, i int64) int64 {
	for i < int64(len(b)) {
		switch b[i] {
		case ' ', '\t', '\r', '\n', ':', ',':
			i++
		default:
			return i
		}
	}
	return i
}

// record is one element of the accounts.json array. Records of another
// provider (or anything we do not understand) are kept as raw bytes and
// written back verbatim; Anthropic records are decoded into acct, and their
// members we do not know are kept verbatim too.
type record struct {
	raw    json.RawMessage // the element exactly as read; used when acct is nil
	fields []rawField      // members as read (for acct records)
	acct   *account        // nil for foreign records
}

// account is the typed view of one Anthropic record.
type account struct {
	ID                  string
	AccessToken         string
	RefreshToken        string
	ExpiresAt           int64 // Unix ms
	Scopes              []string
	Enabled             *bool
	SessionLimitPercent *float64
	WeeklyLimitPercent  *float64
	Provider            string

	// cc-router's own fields.
	Email       string
	Source      string
	SourceRef   string // the file path or Keychain service imported from
	AccountUUID string
	OrgUUID     string // the organization (each Pro/Max login is its own)
	OrgName     string
	State       State
	StateReason string
	LastRefresh int64 // Unix ms of the last successful refresh
}

func (a *account) enabled() bool { return a.Enabled == nil || *a.Enabled }

// setTokens puts a login's tokens into a. A zero expires means the source
// did not say; scopes are kept when the login names none.
func (a *account) setTokens(access, refresh string, expires time.Time, scopes []string) {
	a.AccessToken, a.RefreshToken = access, refresh
	a.ExpiresAt = 0
	if !expires.IsZero() {
		a.ExpiresAt = expires.UnixMilli()
	}
	if len(scopes) > 0 {
		a.Scopes = append([]string(nil), scopes...)
	}
}

// document is the whole accounts.json.
type document struct {
	records []*record
}

func (d *document) find(id string) *account {
	for _, r := range d.records {
		if r.acct != nil && r.acct.ID == id {
			return r.acct
		}
	}
	return nil
}

// idTaken reports whether any record, ours or foreign, uses id.
func (d *document) idTaken(id string) bool {
	for _, r := range d.records {
		if r.acct != nil {
			if r.acct.ID == id {
				return true
			}
			continue
		}
		var probe struct {
			ID any `json:"id"`
		}
		if json.Unmarshal(r.raw, &probe) == nil && probe.ID == id {
			return true
		}
	}
	return false
}

func (d *document) accounts() []*account {
	var out []*account
	for _, r := range d.records {
		if r.acct != nil {
			out = append(out, r.acct)
		}
	}
	return out
}

func (d *document) add(a *account) { d.records = append(d.records, &record{acct: a}) }

func (d *document) remove(id string) bool {
	for i, r := range d.records {
		if r.acct != nil && r.acct.ID == id {
			d.records = append(d.records[:i:i], d.records[i+1:]...)
			return true
		}
	}
	return false
}

// clone returns a deep copy of the typed parts (raw bytes are shared; they
// are never mutated).
func (d *document) clone() *document {
	c := &document{records: make([]*record, len(d.records))}
	for i, r := range d.records {
		nr := *r
		if r.acct != nil {
			a := *r.acct
			a.Scopes = append([]string(nil), r.acct.Scopes...)
			nr.acct = &a
		}
		c.records[i] = &nr
	}
	return c
}

// parseDocument parses accounts.json. Every problem is a *FileError naming
// path, line and column.
func parseDocument(path string, data []byte) (*document, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	t, err := dec.Token()
	if err == io.EOF {
		return nil, fileErrorAt(path, data, 0, "file is empty; expected a JSON array of accounts")
	}
	if err != nil {
		return nil, jsonErrorAt(path, data, 0, err)
	}
	if d, ok := t.(json.Delim); !ok || d != '[' {
		return nil, fileErrorAt(path, data, skipSpace(data, 0), "the top level must be a JSON array of accounts")
	}
	doc := &document{}
	ids := map[string]bool{}
	for dec.More() {
		off := skipSpace(data, dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, jsonErrorAt(path, data, 0, err)
		}
		rec, err := parseRecord(path, data, off, raw)
		if err != nil {
			return nil, err
		}
		if rec.acct != nil {
			if ids[rec.acct.ID] {
				return nil, fileErrorAt(path, data, off, "duplicate account id %q", rec.acct.ID)
			}
			ids[rec.acct.ID] = true
		}
		doc.records = append(doc.records, rec)
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return nil, jsonErrorAt(path, data, 0, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fileErrorAt(path, data, skipSpace(data, dec.InputOffset()), "unexpected data after the array")
	}
	return doc, nil
}

// knownKeys lists the members an Anthropic record may have, in the order
// new members are written.
var knownKeys = []string{
	"id", "accessToken", "refreshToken", "expiresAt", "scopes", "enabled",
	"sessionLimitPercent", "weeklyLimitPercent", "provider",
	"email", "accountUuid", "source", "sourceRef", "state", "stateReason", "lastRefresh",
	"organizationUuid", "organizationName",
}

func isKnownKey(k string) bool {
	for _, kk := range knownKeys {
		if k == kk {
			return true
		}
	}
	return false
}

func parseRecord(path string, data []byte, off int64, raw json.RawMessage) (*record, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fileErrorAt(path, data, off, "each account must be a JSON object")
	}
	fields, err := parseObject(path, data, off, raw)
	if err != nil {
		return nil, err
	}
	get := func(k string) *rawField { return field(fields, k) }
	if p := get("provider"); p != nil {
		var prov string
		if json.Unmarshal(p.val, &prov) != nil || (prov != "" && !strings.EqualFold(prov, "anthropic")) {
			return &record{raw: raw}, nil // another provider's record: keep it as is
		}
	}
	a := &account{}
	bad := func(f *rawField, format string, args ...any) error {
		return fileErrorAt(path, data, f.off, format, args...)
	}
	str := func(k string, dst *string, required bool) error {
		f := get(k)
		if f == nil {
			if required {
				return fileErrorAt(path, data, off, "account is missing %q", k)
			}
			return nil
		}
		if string(f.val) == "null" {
			if required {
				return bad(f, "%q must be a string", k)
			}
			return nil
		}
		if json.Unmarshal(f.val, dst) != nil {
			return bad(f, "%q must be a string", k)
		}
		return nil
	}
	num := func(k string) (*float64, error) {
		f := get(k)
		if f == nil || string(f.val) == "null" {
			return nil, nil
		}
		var n json.Number
		if json.Unmarshal(f.val, &n) != nil {
			return nil, bad(f, "%q must be a number", k)
		}
		v, err := n.Float64()
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, bad(f, "%q is out of range", k)
		}
		return &v, nil
	}
	if err := str("id", &a.ID, true); err != nil {
		return nil, err
	}
	if !utf8.Valid(get("id").val) {
		return nil, bad(get("id"), "account id is not valid UTF-8")
	}
	if strings.TrimSpace(a.ID) == "" {
		return nil, bad(get("id"), "account id is empty")
	}
	if err := str("accessToken", &a.AccessToken, true); err != nil {
		return nil, err
	}
	if a.AccessToken == "" {
		return nil, bad(get("accessToken"), "account %q has an empty accessToken", a.ID)
	}
	if err := str("refreshToken", &a.RefreshToken, true); err != nil {
		return nil, err
	}
	exp, err := num("expiresAt")
	if err != nil {
		return nil, err
	}
	if exp != nil {
		if *exp < 0 || *exp > 1e15 {
			return nil, bad(get("expiresAt"), "%q must be Unix milliseconds", "expiresAt")
		}
		a.ExpiresAt = int64(*exp)
	}
	if f := get("scopes"); f != nil && string(f.val) != "null" {
		if json.Unmarshal(f.val, &a.Scopes) != nil {
			return nil, bad(f, "%q must be an array of strings", "scopes")
		}
	}
	if f := get("enabled"); f != nil && string(f.val) != "null" {
		var b bool
		if json.Unmarshal(f.val, &b) != nil {
			return nil, bad(f, "%q must be true or false", "enabled")
		}
		a.Enabled = &b
	}
	if a.SessionLimitPercent, err = num("sessionLimitPercent"); err != nil {
		return nil, err
	}
	if a.WeeklyLimitPercent, err = num("weeklyLimitPercent"); err != nil {
		return nil, err
	}
	var state string
	for _, s := range []struct {
		k   string
		dst *string
	}{
		{"provider", &a.Provider}, {"email", &a.Email}, {"accountUuid", &a.AccountUUID},
		{"source", &a.Source}, {"sourceRef", &a.SourceRef}, {"state", &state},
		{"stateReason", &a.StateReason}, {"organizationUuid", &a.OrgUUID},
		{"organizationName", &a.OrgName},
	} {
		if err := str(s.k, s.dst, false); err != nil {
			return nil, err
		}
	}
	switch State(state) {
	case "", StateOK:
		a.State = StateOK
	case StateNeedsLogin:
		a.State = StateNeedsLogin
	default:
		return nil, bad(get("state"), "unknown account state (want %q or %q)", StateOK, StateNeedsLogin)
	}
	lr, err := num("lastRefresh")
	if err != nil {
		return nil, err
	}
	if lr != nil {
		a.LastRefresh = int64(*lr)
	}
	return &record{fields: fields, acct: a}, nil
}

// encode writes the document as a JSON array, two-space indented like the
// Node tool writes it. Foreign records and unknown members are written
// byte for byte as they were read.
func (d *document) encode() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("[")
	for i, r := range d.records {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n  ")
		if r.acct == nil {
			b.Write(r.raw)
			continue
		}
		if err := encodeAccount(&b, r); err != nil {
			return nil, err
		}
	}
	if len(d.records) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("]\n")
	return b.Bytes(), nil
}

func encodeAccount(b *bytes.Buffer, r *record) error {
	a := r.acct
	known := map[string]any{
		"id": a.ID, "accessToken": a.AccessToken, "refreshToken": a.RefreshToken,
		"expiresAt": a.ExpiresAt,
	}
	if a.Scopes != nil {
		known["scopes"] = a.Scopes
	}
	if a.Enabled != nil {
		known["enabled"] = *a.Enabled
	}
	if a.SessionLimitPercent != nil {
		known["sessionLimitPercent"] = *a.SessionLimitPercent
	}
	if a.WeeklyLimitPercent != nil {
		known["weeklyLimitPercent"] = *a.WeeklyLimitPercent
	}
	for k, v := range map[string]string{
		"provider": a.Provider, "email": a.Email, "accountUuid": a.AccountUUID,
		"source": a.Source, "sourceRef": a.SourceRef, "stateReason": a.StateReason,
		"organizationUuid": a.OrgUUID, "organizationName": a.OrgName,
	} {
		if v != "" {
			known[k] = v
		}
	}
	if a.State == StateNeedsLogin {
		known["state"] = string(a.State)
	}
	if a.LastRefresh != 0 {
		known["lastRefresh"] = a.LastRefresh
	}

	b.WriteString("{")
	n := 0
	member := func(k string, val []byte) {
		if n > 0 {
			b.WriteString(",")
		}
		n++
		b.WriteString("\n    ")
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteString(": ")
		b.Write(val)
	}
	written := map[string]bool{}
	for _, f := range r.fields {
		if !isKnownKey(f.key) {
			member(f.key, f.val) // verbatim
			continue
		}
		v, ok := known[f.key]
		if !ok {
			continue // a member of ours that is now unset
		}
		enc, err := json.MarshalIndent(v, "    ", "  ")
		if err != nil {
			return err
		}
		member(f.key, enc)
		written[f.key] = true
	}
	for _, k := range knownKeys {
		v, ok := known[k]
		if !ok || written[k] {
			continue
		}
		enc, err := json.MarshalIndent(v, "    ", "  ")
		if err != nil {
			return err
		}
		member(k, enc)
	}
	b.WriteString("\n  }")
	return nil
}

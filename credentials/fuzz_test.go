package credentials

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// storeSeeds are accounts.json files the loader fuzzer starts from; they
// also run as ordinary test cases.
var storeSeeds = []string{
	`[]`,
	``,
	`[{"id":"max-account-1","accessToken":"sk-ant-oat01-AAAA","refreshToken":"sk-ant-ort01-BBBB","expiresAt":1748658860000,"scopes":["user:inference","user:profile"]}]`,
	`[{"id":"a","accessToken":"x","refreshToken":"y","expiresAt":1,"enabled":false,"sessionLimitPercent":80,"weeklyLimitPercent":90.5,"provider":"anthropic","extra":{"k":[1,2,{"z":null}]}}]`,
	`[{"id":"gpt","provider":"openai","apiKey":"sk-x"},{"id":"a","accessToken":"x","refreshToken":"","state":"needs_login","stateReason":"why"}]`,
	"[\n  {\"id\": \"a\", \"accessToken\": \"x\",\n   \"refreshToken\": \"r\" \"expiresAt\": 1}\n]",
	`{"id":"a"}`,
	`[{"id":"a","id":"b"}]`,
	`[{"id":"\u0000","accessToken":"x","refreshToken":"r","expiresAt":1e300}]`,
	`[1,"two",null,[]]`,
	"[{\"id\":\"é\",\"accessToken\":\"x\",\"refreshToken\":\"r\",\"email\":\"\\ud800\"}]",
}

// FuzzLoadStore: the loader never panics; whatever it accepts is written
// back into a file it accepts again with the same accounts, and whatever
// it rejects is located inside the file.
func FuzzLoadStore(f *testing.F) {
	for _, s := range storeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := parseDocument("accounts.json", data)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FileError", err)
			}
			lines := bytes.Count(data, []byte{'\n'}) + 1
			if fe.Line < 1 || fe.Line > lines || fe.Column < 1 {
				t.Fatalf("position %d:%d outside the file (%d lines)", fe.Line, fe.Column, lines)
			}
			if !strings.HasPrefix(err.Error(), "accounts.json:") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		out, err := doc.encode()
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		again, err := parseDocument("accounts.json", out)
		if err != nil {
			t.Fatalf("the rewritten file does not load: %v\n%s", err, out)
		}
		if len(again.records) != len(doc.records) {
			t.Fatalf("%d records after a rewrite, want %d", len(again.records), len(doc.records))
		}
		for i, r := range doc.records {
			r2 := again.records[i]
			if (r.acct == nil) != (r2.acct == nil) {
				t.Fatalf("record %d changed kind in a rewrite", i)
			}
			if r.acct == nil {
				if !bytes.Equal(r.raw, r2.raw) {
					t.Fatalf("foreign record %d changed in a rewrite", i)
				}
				continue
			}
			a, b := r.acct, r2.acct
			if a.ID != b.ID || a.AccessToken != b.AccessToken || a.RefreshToken != b.RefreshToken ||
				a.ExpiresAt != b.ExpiresAt || a.enabled() != b.enabled() || a.State != b.State ||
				a.Email != b.Email || !ptrEq(a.SessionLimitPercent, b.SessionLimitPercent) {
				t.Fatalf("account %d changed in a rewrite", i)
			}
			for _, f := range r.fields {
				if isKnownKey(f.key) {
					continue
				}
				found := false
				for _, f2 := range r2.fields {
					if f2.key == f.key && bytes.Equal(f2.val, f.val) {
						found = true
					}
				}
				if !found {
					t.Fatalf("unknown member %q of account %d was not kept byte for byte", f.key, i)
				}
			}
		}
	})
}

// credentialSeeds are Claude Code credentials the parser fuzzer starts
// from.
var credentialSeeds = []string{
	`{"claudeAiOauth":{"accessToken":"sk-ant-oat01-AAAAAAAAAAAA","refreshToken":"sk-ant-ort01-BBBBBBBBBBBB","expiresAt":1748658860000,"scopes":["user:inference"],"subscriptionType":"max"}}`,
	`{"accessToken":"sk-ant-oat01-AAAAAAAAAAAA","refreshToken":"sk-ant-ort01-BBBBBBBBBBBB","expiresAt":"2026-01-02T03:04:05.678Z"}`,
	`{"accessToken":"sk-ant-oat01-AAAAAAAAAAAA","refreshToken":"sk-ant-ort01-BBBBBBBBBBBB","expiresAt":"1748658860000","scopes":"user:inference user:profile"}`,
	`{"claudeAiOauth":{"accessToken":"sk-ant-api03-AAAAAAAAAAAA","refreshToken":"x"}}`,
	`{"claudeAiOauth":{"accessToken":"sk-ant-oat01-AAAA AAAA\n","refreshToken":"sk-ant-ort01-BBBBBBBBBBBB"}}`,
	`{"claudeAiOauth":null}`,
	`[]`,
	``,
	"{\n\"claudeAiOauth\": {\n  \"accessToken\": ,\n}}",
	`{"claudeAiOauth":{"accessToken":"sk-ant-oat01-AAAAAAAAAAAA","refreshToken":"sk-ant-ort01-BBBBBBBBBBBB","expiresAt":-1}}`,
}

// FuzzParseClaudeCredentials: the parser never panics, accepts only
// well-formed token pairs, and never quotes a token in an error.
func FuzzParseClaudeCredentials(f *testing.F) {
	for _, s := range credentialSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseClaudeCredentials("creds.json", data)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FileError", err)
			}
			// An error may quote a short piece of the input (a JSON syntax
			// error names one character), never a long run of it.
			for _, w := range strings.FieldsFunc(string(data), func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
			}) {
				if len(w) >= 24 && strings.Contains(err.Error(), w) {
					t.Fatalf("error quotes the input: %v", err)
				}
			}
			return
		}
		if checkToken(l.AccessToken, "oat") != nil || checkToken(l.RefreshToken, "ort") != nil {
			t.Fatalf("accepted a malformed token pair")
		}
		for _, s := range l.Scopes {
			if !utf8.ValidString(s) || validText("scope", s) != nil {
				t.Fatalf("accepted an invalid scope")
			}
		}
	})
}

package tray

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzClaudeSettingsEdit runs Configure and Revert on arbitrary
// settings.json bytes. A file that is not a JSON object must be refused and
// left byte for byte as it was; an accepted one must come out as valid JSON
// holding the two env keys and every other value unchanged; and Revert must
// give back the original bytes (up to whitespace).
func FuzzClaudeSettingsEdit(f *testing.F) {
	f.Add([]byte("{\n  \"model\": \"opus\",\n  \"env\": {\n    \"FOO\": \"1\"\n  }\n}\n"), "http://127.0.0.1:3456")
	f.Add([]byte(`{"env":{"ANTHROPIC_BASE_URL":"https://example.com","X":[1,2,{"a":null}]},"permissions":{"allow":["Bash(ls)"]}}`), "http://127.0.0.1:3456")
	f.Add([]byte("{}"), "http://[::1]:3456/\"quoted\"\\")
	f.Add([]byte("\t{ \"env\" : { } , \"a\" : \"\\u00e9\\n\" }\r\n"), "http://127.0.0.1:1")
	f.Add([]byte(`{"env": "not an object"}`), "http://127.0.0.1:3456")
	f.Add([]byte(`[1,2]`), "http://127.0.0.1:3456")
	f.Add([]byte(`{"a":1,}`), "http://127.0.0.1:3456")
	f.Add([]byte(`{"env":{"A":1},"env":{"B":2}}`), "http://127.0.0.1:3456")
	f.Fuzz(func(t *testing.T, original []byte, baseURL string) {
		if !utf8.ValidString(baseURL) {
			t.Skip("the base URL is always valid UTF-8")
		}
		dir := t.TempDir()
		c := ClaudeSettings{Path: filepath.Join(dir, "settings.json"), StatePath: filepath.Join(dir, "state.json")}
		if err := os.WriteFile(c.Path, original, 0o600); err != nil {
			t.Fatal(err)
		}
		const token = "cc-router"
		_, err := c.Configure(baseURL, token)
		after, rerr := os.ReadFile(c.Path)
		if rerr != nil {
			t.Fatalf("settings.json gone after Configure (err %v): %v", err, rerr)
		}
		var orig map[string]any
		isObject := json.Valid(original) && json.Unmarshal(original, &orig) == nil && orig != nil
		if err != nil {
			if !bytes.Equal(after, original) {
				t.Fatalf("Configure failed (%v) but changed the file:\n%q\n->\n%q", err, original, after)
			}
			env, hasEnv := orig["env"]
			_, envIsObject := env.(map[string]any)
			if isObject && (!hasEnv || envIsObject) && !hasDuplicateKeys(original) {
				t.Fatalf("Configure refused a valid settings object: %v\n%q", err, original)
			}
			return
		}
		if !isObject {
			t.Fatalf("Configure accepted bytes that are not a JSON object:\n%q", original)
		}
		var got map[string]any
		if !json.Valid(after) || json.Unmarshal(after, &got) != nil {
			t.Fatalf("Configure wrote invalid JSON:\n%q\n->\n%q", original, after)
		}
		env, _ := got["env"].(map[string]any)
		if env[EnvBaseURL] != baseURL || env[EnvAuthToken] != token {
			t.Fatalf("env after Configure is %v, want %s=%q and %s=%q\n%q", env, EnvBaseURL, baseURL, EnvAuthToken, token, after)
		}
		for k, v := range orig {
			if k == "env" {
				continue
			}
			if !reflect.DeepEqual(got[k], v) {
				t.Fatalf("Configure changed %q from %v to %v", k, v, got[k])
			}
		}
		if oenv, _ := orig["env"].(map[string]any); oenv != nil {
			for k, v := range oenv {
				if k != EnvBaseURL && k != EnvAuthToken && !reflect.DeepEqual(env[k], v) {
					t.Fatalf("Configure changed env.%s from %v to %v", k, v, env[k])
				}
			}
		}
		if _, err := c.Revert(); err != nil {
			t.Fatalf("Revert: %v", err)
		}
		reverted, err := os.ReadFile(c.Path)
		if err != nil {
			t.Fatalf("settings.json gone after Revert: %v", err)
		}
		// Byte for byte, except whitespace: an empty "env": { } comes back
		// as {}.
		var want, have bytes.Buffer
		json.Compact(&want, original)
		json.Compact(&have, reverted)
		if !bytes.Equal(want.Bytes(), have.Bytes()) {
			t.Fatalf("Revert did not restore the original:\n%q\n->\n%q\n->\n%q", original, after, reverted)
		}
	})
}

// hasDuplicateKeys reports whether some JSON object in data repeats a key
// (valid JSON that editors may reasonably refuse).
func hasDuplicateKeys(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	var walk func() bool
	walk = func() bool {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, _ := dec.Token()
				ks, _ := k.(string)
				if seen[ks] {
					return true
				}
				seen[ks] = true
				if walk() {
					return true
				}
			}
			dec.Token()
		case json.Delim('['):
			for dec.More() {
				if walk() {
					return true
				}
			}
			dec.Token()
		}
		return false
	}
	return walk()
}

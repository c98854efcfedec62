package tray

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The keys of Claude Code's settings.json "env" that route it through
// cc-router.
const (
	EnvBaseURL   = "ANTHROPIC_BASE_URL"
	EnvAuthToken = "ANTHROPIC_AUTH_TOKEN"
)

// PlaceholderToken is written as ANTHROPIC_AUTH_TOKEN when the router has
// no proxy secret: Claude Code needs some token to skip its own login, and
// the router replaces it with an account's token anyway.
const PlaceholderToken = "cc-router"

// ClaudeSettings edits Claude Code's settings.json so that Claude Code
// sends its requests to cc-router, and undoes exactly that edit. What was
// there before is remembered in StatePath, so Revert restores it.
type ClaudeSettings struct {
	// Path is Claude Code's settings.json.
	Path string
	// StatePath records what Configure changed (in cc-router's directory).
	StatePath string
}

// DefaultClaudeSettingsPath is $CLAUDE_CONFIG_DIR/settings.json, else
// ~/.claude/settings.json.
func DefaultClaudeSettingsPath() (string, error) {
	if d := os.Getenv("CLAUDE_CONFIG_DIR"); d != "" {
		return filepath.Join(d, "settings.json"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the home directory for ~/.claude/settings.json: %w", err)
	}
	return filepath.Join(home, ".claude", "settings.json"), nil
}

// claudeEdit is the record of one Configure, kept until Revert.
type claudeEdit struct {
	Path        string                     `json:"settingsPath"`
	CreatedFile bool                       `json:"createdFile,omitempty"`
	CreatedEnv  bool                       `json:"createdEnv,omitempty"`
	Previous    map[string]json.RawMessage `json:"previous"` // absent key: it was not set
	Written     map[string]string          `json:"written"`
}

// ConfigureResult says what Configure did.
type ConfigureResult struct {
	Changed bool   // false: settings.json already routed through cc-router
	Backup  string // the copy of the previous file, "" if none was made
}

// RevertResult says what Revert did.
type RevertResult struct {
	// Changed: settings.json was rewritten.
	Changed bool
	// Kept lists keys left alone because they were changed by hand since.
	Kept []string
	// Backup is where the file before the revert was copied ("" if none).
	Backup string
}

// BackupPath is where the previous settings.json is copied before a write.
func (c ClaudeSettings) BackupPath() string { return c.Path + ".cc-router-backup" }

// Configure sets env.ANTHROPIC_BASE_URL and env.ANTHROPIC_AUTH_TOKEN,
// leaving every other byte of the file as it was. A malformed file is
// reported (*SyntaxError) and left untouched.
func (c ClaudeSettings) Configure(baseURL, token string) (ConfigureResult, error) {
	data, perm, exists, err := readSettings(c.Path)
	if err != nil {
		return ConfigureResult{}, err
	}
	if !exists {
		data = []byte("{}\n")
	}
	top, err := checkJSONObject(c.Path, data)
	if err != nil {
		return ConfigureResult{}, err
	}
	edit, err := c.loadEdit()
	if err != nil {
		return ConfigureResult{}, err
	}
	if edit == nil {
		edit = &claudeEdit{Path: c.Path, CreatedFile: !exists, Previous: map[string]json.RawMessage{}}
		if i, ok := top.find("env"); ok {
			m := top.members[i]
			if data[m.valStart] == '{' {
				env, err := parseObject(data, m.valStart)
				if err != nil {
					return ConfigureResult{}, err
				}
				for _, k := range []string{EnvBaseURL, EnvAuthToken} {
					if j, ok := env.find(k); ok {
						edit.Previous[k] = json.RawMessage(data[env.members[j].valStart:env.members[j].valEnd])
					}
				}
			}
		} else {
			edit.CreatedEnv = true
		}
	}
	edit.Written = map[string]string{EnvBaseURL: baseURL, EnvAuthToken: token}

	out := data
	for _, kv := range [][2]string{{EnvBaseURL, baseURL}, {EnvAuthToken, token}} {
		if out, err = setEnv(c.Path, out, kv[0], kv[1]); err != nil {
			return ConfigureResult{}, err
		}
	}
	if exists && string(out) == string(data) {
		return ConfigureResult{}, c.saveEdit(edit)
	}
	res := ConfigureResult{Changed: true}
	if exists {
		if err := writeFileAtomic(c.BackupPath(), data, perm); err != nil {
			return ConfigureResult{}, err
		}
		res.Backup = c.BackupPath()
	}
	// Save the record first: a crash between the two writes then leaves a
	// record Revert can act on, never an edit it does not know about.
	if err := c.saveEdit(edit); err != nil {
		return ConfigureResult{}, err
	}
	if err := writeFileAtomic(c.Path, out, perm); err != nil {
		return ConfigureResult{}, err
	}
	return res, nil
}

// Revert removes what Configure added and restores values it replaced.
// A key changed by hand since is left alone and listed in Kept.
func (c ClaudeSettings) Revert() (RevertResult, error) {
	edit, err := c.loadEdit()
	if err != nil || edit == nil {
		return RevertResult{}, err
	}
	data, perm, exists, err := readSettings(c.Path)
	if err != nil {
		return RevertResult{}, err
	}
	if !exists {
		return RevertResult{}, c.dropEdit()
	}
	if _, err := checkJSONObject(c.Path, data); err != nil {
		return RevertResult{}, err
	}
	var res RevertResult
	out := data
	for _, k := range []string{EnvBaseURL, EnvAuthToken} {
		env, idx, ok := findEnv(out, k)
		if !ok {
			continue
		}
		m := env.members[idx]
		var cur string
		if json.Unmarshal(out[m.valStart:m.valEnd], &cur) != nil || cur != edit.Written[k] {
			res.Kept = append(res.Kept, k)
			continue
		}
		if prev, had := edit.Previous[k]; had {
			out = splice(out, m.valStart, m.valEnd, string(prev))
		} else {
			out = removeMember(out, env, idx)
		}
	}
	top, err := parseObject(out, skipSpace(out, 0))
	if err != nil {
		return res, err
	}
	if i, ok := top.find("env"); ok && edit.CreatedEnv {
		if env, err := parseObject(out, top.members[i].valStart); err == nil && len(env.members) == 0 {
			out = removeMember(out, top, i)
			top, _ = parseObject(out, skipSpace(out, 0))
		}
	}
	if string(out) == string(data) {
		return res, c.dropEdit()
	}
	res.Changed = true
	if err := writeFileAtomic(c.BackupPath(), data, perm); err != nil {
		return res, err
	}
	res.Backup = c.BackupPath()
	if edit.CreatedFile && len(top.members) == 0 {
		if err := os.Remove(c.Path); err != nil {
			return res, err
		}
	} else if err := writeFileAtomic(c.Path, out, perm); err != nil {
		return res, err
	}
	return res, c.dropEdit()
}

// Configured reports whether settings.json routes Claude Code to baseURL.
func (c ClaudeSettings) Configured(baseURL string) bool {
	data, _, exists, err := readSettings(c.Path)
	if err != nil || !exists {
		return false
	}
	if _, err := checkJSONObject(c.Path, data); err != nil {
		return false
	}
	env, idx, ok := findEnv(data, EnvBaseURL)
	if !ok {
		return false
	}
	var cur string
	m := env.members[idx]
	return json.Unmarshal(data[m.valStart:m.valEnd], &cur) == nil && cur == baseURL
}

// findEnv locates env.key in a validated document.
func findEnv(data []byte, key string) (jsonObject, int, bool) {
	top, err := parseObject(data, skipSpace(data, 0))
	if err != nil {
		return jsonObject{}, 0, false
	}
	i, ok := top.find("env")
	if !ok || data[top.members[i].valStart] != '{' {
		return jsonObject{}, 0, false
	}
	env, err := parseObject(data, top.members[i].valStart)
	if err != nil {
		return jsonObject{}, 0, false
	}
	j, ok := env.find(key)
	return env, j, ok
}

// setEnv sets env.key to the string value in a validated document.
func setEnv(path string, data []byte, key, value string) ([]byte, error) {
	val, _ := json.Marshal(value)
	top, err := parseObject(data, skipSpace(data, 0))
	if err != nil {
		return nil, err
	}
	unit := indentUnit(data, top)
	i, ok := top.find("env")
	if !ok {
		keyJSON, _ := json.Marshal(key)
		return insertMember(data, top, unit, "env", func(indent, unit string) string {
			if unit == "" {
				return "{" + string(keyJSON) + ": " + string(val) + "}"
			}
			return "{\n" + indent + unit + string(keyJSON) + ": " + string(val) + "\n" + indent + "}"
		}), nil
	}
	m := top.members[i]
	if data[m.valStart] != '{' {
		line, col := lineColumn(data, m.valStart)
		return nil, &SyntaxError{path, line, col, `"env" is not an object; fix it by hand first`}
	}
	env, err := parseObject(data, m.valStart)
	if err != nil {
		return nil, err
	}
	if j, ok := env.find(key); ok {
		return splice(data, env.members[j].valStart, env.members[j].valEnd, string(val)), nil
	}
	return insertMember(data, env, unit, key, func(string, string) string { return string(val) }), nil
}

func readSettings(path string) (data []byte, perm fs.FileMode, exists bool, err error) {
	data, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0o600, false, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	perm = 0o600
	if st, err := os.Stat(path); err == nil {
		perm = st.Mode().Perm()
	}
	return data, perm, true, nil
}

func (c ClaudeSettings) loadEdit() (*claudeEdit, error) {
	b, err := os.ReadFile(c.StatePath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var e claudeEdit
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it to start over)", c.StatePath, err)
	}
	if e.Path != c.Path {
		return nil, nil // a record for another settings file
	}
	if e.Previous == nil {
		e.Previous = map[string]json.RawMessage{}
	}
	return &e, nil
}

func (c ClaudeSettings) saveEdit(e *claudeEdit) error {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(c.StatePath, append(b, '\n'), 0o600)
}

func (c ClaudeSettings) dropEdit() error {
	if err := os.Remove(c.StatePath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

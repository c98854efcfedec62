// Package config loads cc-router's settings: defaults, then
// ~/.cc-router/config.json, then environment variables, then command-line
// flags, each overriding the one before.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Config is the effective configuration of the router.
type Config struct {
	// Listen is the proxy's address (default 127.0.0.1:3456).
	Listen string `json:"listen"`
	// Upstream is where /v1/ requests go (default https://api.anthropic.com;
	// a LiteLLM URL in full mode).
	Upstream string `json:"upstream"`
	// ProxySecret, when set, must be presented by every client; it is
	// required to listen on a non-loopback address.
	ProxySecret string `json:"proxySecret,omitempty"`
	// Strategy chooses accounts: "headroom" (default) or "round-robin".
	Strategy string `json:"strategy"`
	// RefreshBuffer: tokens expiring within it are refreshed (default 10m).
	RefreshBuffer Duration `json:"refreshBuffer"`
	// Cooldown429 and Cooldown529 bench an account after a 429 or 529 that
	// carried no reset time (defaults 60s and 30s).
	Cooldown429 Duration `json:"cooldown429"`
	Cooldown529 Duration `json:"cooldown529"`
	// BodyLimit is the largest request body accepted, in bytes (32 MiB).
	BodyLimit int64 `json:"bodyLimit"`
	// DialTimeout, TLSTimeout and HeaderTimeout bound connecting to the
	// upstream, its TLS handshake, and the wait for a response's headers
	// (defaults 10s, 10s and 10m). A streamed body has no time limit.
	DialTimeout   Duration `json:"dialTimeout"`
	TLSTimeout    Duration `json:"tlsTimeout"`
	HeaderTimeout Duration `json:"headerTimeout"`
}

// Defaults returns the built-in configuration.
func Defaults() Config {
	return Config{
		Listen:        "127.0.0.1:3456",
		Upstream:      "https://api.anthropic.com",
		Strategy:      "headroom",
		RefreshBuffer: Duration(10 * time.Minute),
		Cooldown429:   Duration(60 * time.Second),
		Cooldown529:   Duration(30 * time.Second),
		BodyLimit:     32 << 20,
		DialTimeout:   Duration(10 * time.Second),
		TLSTimeout:    Duration(10 * time.Second),
		HeaderTimeout: Duration(10 * time.Minute),
	}
}

// Dir is cc-router's directory: CC_ROUTER_HOME, else ~/.cc-router.
func Dir() (string, error) {
	if d := os.Getenv("CC_ROUTER_HOME"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the home directory for ~/.cc-router: %w", err)
	}
	return filepath.Join(home, ".cc-router"), nil
}

// Path is the configuration file: CC_ROUTER_CONFIG, else config.json in Dir.
func Path() (string, error) {
	if p := os.Getenv("CC_ROUTER_CONFIG"); p != "" {
		return p, nil
	}
	d, err := Dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "config.json"), nil
}

// Duration is a time.Duration written in JSON as a string ("90s", "10m")
// or a number of seconds.
type Duration time.Duration

// MarshalJSON writes the duration as a string such as "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON accepts "90s"-style strings and plain seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q (want e.g. \"90s\" or \"10m\")", s)
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("invalid duration %s (want a string like \"90s\" or seconds)", b)
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}

// String formats the duration as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// Set parses a flag or environment value.
func (d *Duration) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as 90s or 10m, got %q", s)
	}
	*d = Duration(v)
	return nil
}

// textValue and byteCount let string and int64 settings be parsed from
// flags and the environment like Duration (flag.Value) and still decode
// from JSON as plain strings and numbers.
type (
	textValue string
	byteCount int64
)

func (v *textValue) String() string     { return string(*v) }
func (v *textValue) Set(s string) error { *v = textValue(s); return nil }
func (v *byteCount) String() string     { return strconv.FormatInt(int64(*v), 10) }
func (v *byteCount) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("want a number of bytes, got %q", s)
	}
	*v = byteCount(n)
	return nil
}

// setting is one router setting and every name it goes by: its key in
// config.json, its environment variable and its flag ("" where it has
// none). A back-quoted word in usage names the flag's value in --help. The file loader, ApplyEnv, the flags and Validate all read this
// one table, so a new setting is one line here.
type setting struct {
	key, env, flag, usage string
	field                 func(c *Config) flag.Value
}

var settings = []setting{
	{"listen", "CC_ROUTER_LISTEN", "listen", "`HOST:PORT` to listen on",
		func(c *Config) flag.Value { return (*textValue)(&c.Listen) }},
	{"upstream", "CC_ROUTER_UPSTREAM", "upstream", "upstream base `URL`, e.g. http://litellm:4000",
		func(c *Config) flag.Value { return (*textValue)(&c.Upstream) }},
	{"proxySecret", "CC_ROUTER_PROXY_SECRET", "", "proxy secret clients must present",
		func(c *Config) flag.Value { return (*textValue)(&c.ProxySecret) }},
	{"strategy", "CC_ROUTER_STRATEGY", "strategy", "account selection `STRATEGY`: headroom or round-robin",
		func(c *Config) flag.Value { return (*textValue)(&c.Strategy) }},
	{"refreshBuffer", "CC_ROUTER_REFRESH_BUFFER", "refresh-buffer", "refresh tokens that expire within this `DURATION`",
		func(c *Config) flag.Value { return &c.RefreshBuffer }},
	{"cooldown429", "CC_ROUTER_COOLDOWN_429", "cooldown-429", "bench an account for this `DURATION` after a 429 that names no reset time",
		func(c *Config) flag.Value { return &c.Cooldown429 }},
	{"cooldown529", "CC_ROUTER_COOLDOWN_529", "cooldown-529", "bench an account for this `DURATION` after a 529 (overloaded)",
		func(c *Config) flag.Value { return &c.Cooldown529 }},
	{"bodyLimit", "CC_ROUTER_BODY_LIMIT", "body-limit", "largest request body in `BYTES`; larger ones get 413",
		func(c *Config) flag.Value { return (*byteCount)(&c.BodyLimit) }},
	{"dialTimeout", "CC_ROUTER_DIAL_TIMEOUT", "dial-timeout", "give up connecting to the upstream after this `DURATION`",
		func(c *Config) flag.Value { return &c.DialTimeout }},
	{"tlsTimeout", "CC_ROUTER_TLS_TIMEOUT", "tls-timeout", "give up on the upstream's TLS handshake after this `DURATION`",
		func(c *Config) flag.Value { return &c.TLSTimeout }},
	{"headerTimeout", "CC_ROUTER_HEADER_TIMEOUT", "header-timeout", "give up waiting for the upstream's response headers after this `DURATION`; a streamed body has no limit",
		func(c *Config) flag.Value { return &c.HeaderTimeout }},
}

// fields maps each config.json key to the field of c it sets.
func (c *Config) fields() map[string]flag.Value {
	m := make(map[string]flag.Value, len(settings))
	for _, st := range settings {
		m[st.key] = st.field(c)
	}
	return m
}

func fileKeys() string {
	keys := make([]string, len(settings))
	for i, st := range settings {
		keys[i] = st.key
	}
	return strings.Join(keys, ", ")
}

// nodeKeys are the Node.js cc-router's keys. port and litellmUrl are
// understood; mode has no meaning here and is ignored, so that a shared
// file keeps working.
var nodeKeys = map[string]bool{"mode": true, "port": true, "litellmUrl": true}

// LoadFile applies the file at path over c. A missing file changes nothing.
// A malformed file, an unknown key or a bad value is an error that names
// the file and the key or the line and column.
func (c *Config) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("%s: %s", path, describeJSONError(data, err))
	}
	fields := c.fields()
	for k := range raw {
		if _, ok := fields[k]; !ok && !nodeKeys[k] {
			return fmt.Errorf("%s: unknown key %q (known keys: %s)", path, k, fileKeys())
		}
	}
	if v, ok := raw["port"]; ok { // the Node tool's port, kept on loopback
		var port int
		if err := json.Unmarshal(v, &port); err != nil || port <= 0 || port > 65535 {
			return fmt.Errorf("%s: key \"port\": want a port number, got %s", path, v)
		}
		c.Listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	if v, ok := raw["litellmUrl"]; ok {
		if err := json.Unmarshal(v, &c.Upstream); err != nil {
			return fmt.Errorf("%s: key \"litellmUrl\": %v", path, err)
		}
	}
	for k, v := range raw {
		field, ok := fields[k]
		if !ok {
			continue
		}
		if err := json.Unmarshal(v, field); err != nil {
			return fmt.Errorf("%s: key %q: %v", path, k, cleanJSONError(err))
		}
	}
	return c.Validate()
}

// describeJSONError gives line and column for a syntax error.
func describeJSONError(data []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := lineCol(data, se.Offset)
		return fmt.Sprintf("line %d, column %d: %v", line, col, se)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		line, col := lineCol(data, te.Offset)
		return fmt.Sprintf("line %d, column %d: the top level must be a JSON object", line, col)
	}
	return err.Error()
}

func cleanJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		want := "string"
		if k := te.Type.Kind(); k >= reflect.Int && k <= reflect.Float64 {
			want = "number"
		}
		return fmt.Sprintf("want a JSON %s, got a JSON %s", want, te.Value)
	}
	return err.Error()
}

func lineCol(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1)
	if col < 1 {
		col = 1
	}
	return line, col
}

// Env lists the environment variables ApplyEnv reads, for help output.
var Env = envHelp()

func envHelp() string {
	lines := []string{
		"CC_ROUTER_HOME  directory of accounts.json and config.json (default ~/.cc-router)",
		"CC_ROUTER_CONFIG  configuration file (default $CC_ROUTER_HOME/config.json)",
		"PORT  listen port only, keeping the host (as in the Node.js cc-router)",
		"LITELLM_URL  upstream URL, as in the Node.js cc-router",
	}
	for _, st := range settings {
		lines = append(lines, st.env+"  "+strings.ReplaceAll(st.usage, "`", ""))
	}
	return "  " + strings.Join(lines, "\n  ")
}

// ApplyEnv applies environment variables over c.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	if v := getenv("PORT"); v != "" {
		port, err := strconv.Atoi(v)
		if err != nil || port <= 0 || port > 65535 {
			return fmt.Errorf("environment variable PORT: want a port number, got %q", v)
		}
		host, _, err := net.SplitHostPort(c.Listen)
		if err != nil || host == "" {
			host = "127.0.0.1"
		}
		c.Listen = net.JoinHostPort(host, strconv.Itoa(port))
	}
	if v := getenv("LITELLM_URL"); v != "" {
		c.Upstream = v
	}
	for _, st := range settings { // after PORT and LITELLM_URL: the specific names win
		if v := getenv(st.env); v != "" {
			if err := st.field(c).Set(v); err != nil {
				return fmt.Errorf("environment variable %s: %v", st.env, err)
			}
		}
	}
	return c.Validate()
}

// Flags holds command-line overrides; only flags the user set apply.
type Flags struct {
	fs         *flag.FlagSet
	vals       Config // parsed flag values, starting at the defaults
	secretFile string
}

// RegisterFlags defines the shared router flags on fs.
func RegisterFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{fs: fs, vals: Defaults()}
	for _, st := range settings {
		if st.flag != "" {
			fs.Var(st.field(&f.vals), st.flag, st.usage)
		}
	}
	fs.StringVar(&f.secretFile, "secret-file", "", "file holding the proxy secret clients must present")
	return f
}

// Apply applies the flags the user set over c.
func (f *Flags) Apply(c *Config) error {
	for _, st := range settings {
		if st.flag != "" && f.set(st.flag) {
			if err := st.field(c).Set(st.field(&f.vals).String()); err != nil {
				return fmt.Errorf("--%s: %v", st.flag, err)
			}
		}
	}
	if f.set("secret-file") {
		b, err := os.ReadFile(f.secretFile)
		if err != nil {
			return fmt.Errorf("--secret-file: %w", err)
		}
		c.ProxySecret = strings.TrimSpace(string(b))
		if c.ProxySecret == "" {
			return fmt.Errorf("--secret-file %s is empty", f.secretFile)
		}
	}
	return c.Validate()
}

// set reports whether the user gave the flag.
func (f *Flags) set(name string) bool {
	given := false
	f.fs.Visit(func(fl *flag.Flag) { given = given || fl.Name == name })
	return given
}

// Load returns the effective configuration: defaults, the file, the
// environment, then the flags that were set (flags may be nil).
func Load(flags *Flags) (Config, error) {
	c := Defaults()
	path, err := Path()
	if err != nil {
		return c, err
	}
	if err := c.LoadFile(path); err != nil {
		return c, err
	}
	if err := c.ApplyEnv(os.Getenv); err != nil {
		return c, err
	}
	if flags != nil {
		if err := flags.Apply(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// Validate checks values that would otherwise fail later and obscurely.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen address %q: want host:port, e.g. 127.0.0.1:3456", c.Listen)
	}
	if !strings.HasPrefix(c.Upstream, "http://") && !strings.HasPrefix(c.Upstream, "https://") {
		return fmt.Errorf("upstream %q: want an http:// or https:// URL", c.Upstream)
	}
	switch c.Strategy {
	case "headroom", "round-robin":
	default:
		return fmt.Errorf("strategy %q: want headroom or round-robin", c.Strategy)
	}
	if c.BodyLimit <= 0 {
		return fmt.Errorf("bodyLimit %d: want a positive number of bytes", c.BodyLimit)
	}
	for _, st := range settings {
		if d, ok := st.field(c).(*Duration); ok && *d <= 0 { // zero would silently mean the default further down
			return fmt.Errorf("%s %s: want a positive duration, e.g. \"90s\"", st.key, d)
		}
	}
	return nil
}

// Redacted returns a copy safe to print: the secret is replaced by a note.
func (c Config) Redacted() Config {
	if c.ProxySecret != "" {
		c.ProxySecret = "(set, hidden)"
	}
	return c
}

// ClientURL is the base URL a client on this machine uses to reach a
// router listening on listen (ANTHROPIC_BASE_URL, status): the unspecified
// address (0.0.0.0, ::) is reached on 127.0.0.1.
func ClientURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

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

// Set parses a flag value.
func (d *Duration) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// fileKeys are the keys config.json may hold, in the order help lists them.
var fileKeys = []string{"listen", "upstream", "proxySecret", "strategy", "refreshBuffer", "cooldown429", "cooldown529", "bodyLimit",
	"dialTimeout", "tlsTimeout", "headerTimeout"}

// fields maps each of fileKeys to the field of c it sets.
func (c *Config) fields() map[string]any {
	return map[string]any{
		"listen": &c.Listen, "upstream": &c.Upstream, "proxySecret": &c.ProxySecret,
		"strategy": &c.Strategy, "refreshBuffer": &c.RefreshBuffer, "cooldown429": &c.Cooldown429,
		"cooldown529": &c.Cooldown529, "bodyLimit": &c.BodyLimit,
		"dialTimeout": &c.DialTimeout, "tlsTimeout": &c.TLSTimeout, "headerTimeout": &c.HeaderTimeout,
	}
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
			return fmt.Errorf("%s: unknown key %q (known keys: %s)", path, k, strings.Join(fileKeys, ", "))
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
		return fmt.Sprintf("want a %s, got a JSON %s", te.Type, te.Value)
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
const Env = `CC_ROUTER_HOME      directory of accounts.json and config.json (default ~/.cc-router)
CC_ROUTER_CONFIG    configuration file (default $CC_ROUTER_HOME/config.json)
CC_ROUTER_LISTEN    listen address
PORT                listen port only, keeping the host (as in the Node.js cc-router)
CC_ROUTER_UPSTREAM  upstream URL (LITELLM_URL is accepted too)
CC_ROUTER_PROXY_SECRET  proxy secret
CC_ROUTER_STRATEGY  headroom or round-robin
CC_ROUTER_REFRESH_BUFFER  refresh tokens expiring within this (e.g. 10m)
CC_ROUTER_COOLDOWN_429, CC_ROUTER_COOLDOWN_529  bench time after a 429/529 without a reset time
CC_ROUTER_BODY_LIMIT  largest request body in bytes
CC_ROUTER_DIAL_TIMEOUT, CC_ROUTER_TLS_TIMEOUT, CC_ROUTER_HEADER_TIMEOUT  upstream connect, TLS handshake and response-header timeouts`

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
	if v := getenv("CC_ROUTER_LISTEN"); v != "" {
		c.Listen = v
	}
	if v := getenv("LITELLM_URL"); v != "" {
		c.Upstream = v
	}
	if v := getenv("CC_ROUTER_UPSTREAM"); v != "" {
		c.Upstream = v
	}
	if v := getenv("CC_ROUTER_PROXY_SECRET"); v != "" {
		c.ProxySecret = v
	}
	for name, d := range map[string]*Duration{
		"CC_ROUTER_REFRESH_BUFFER": &c.RefreshBuffer,
		"CC_ROUTER_COOLDOWN_429":   &c.Cooldown429,
		"CC_ROUTER_COOLDOWN_529":   &c.Cooldown529,
		"CC_ROUTER_DIAL_TIMEOUT":   &c.DialTimeout,
		"CC_ROUTER_TLS_TIMEOUT":    &c.TLSTimeout,
		"CC_ROUTER_HEADER_TIMEOUT": &c.HeaderTimeout,
	} {
		if v := getenv(name); v != "" {
			if err := d.Set(v); err != nil {
				return fmt.Errorf("environment variable %s: want a duration such as 90s or 10m, got %q", name, v)
			}
		}
	}
	if v := getenv("CC_ROUTER_BODY_LIMIT"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("environment variable CC_ROUTER_BODY_LIMIT: want a number of bytes, got %q", v)
		}
		c.BodyLimit = n
	}
	if v := getenv("CC_ROUTER_STRATEGY"); v != "" {
		c.Strategy = v
	}
	return c.Validate()
}

// Flags holds command-line overrides; only flags the user set apply.
type Flags struct {
	fs            *flag.FlagSet
	listen        string
	upstream      string
	strategy      string
	secretFile    string
	refreshBuffer Duration
	cooldown429   Duration
	cooldown529   Duration
	bodyLimit     int64
	dialTimeout   Duration
	tlsTimeout    Duration
	headerTimeout Duration
}

// RegisterFlags defines the shared router flags on fs.
func RegisterFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{fs: fs}
	fs.StringVar(&f.listen, "listen", "", "address to listen on (default 127.0.0.1:3456)")
	fs.StringVar(&f.upstream, "upstream", "", "upstream base URL, e.g. http://litellm:4000 (default https://api.anthropic.com)")
	fs.StringVar(&f.strategy, "strategy", "", "account selection: headroom or round-robin (default headroom)")
	fs.StringVar(&f.secretFile, "secret-file", "", "file holding the proxy secret clients must present")
	fs.Var(&f.refreshBuffer, "refresh-buffer", "refresh tokens that expire within this duration (default 10m)")
	fs.Var(&f.cooldown429, "cooldown-429", "bench an account this long after a 429 that names no reset time (default 1m)")
	fs.Var(&f.cooldown529, "cooldown-529", "bench an account this long after a 529 (overloaded) (default 30s)")
	fs.Int64Var(&f.bodyLimit, "body-limit", 0, "largest request body in bytes; larger ones get 413 (default 33554432)")
	fs.Var(&f.dialTimeout, "dial-timeout", "give up connecting to the upstream after this long (default 10s)")
	fs.Var(&f.tlsTimeout, "tls-timeout", "give up on the upstream's TLS handshake after this long (default 10s)")
	fs.Var(&f.headerTimeout, "header-timeout", "give up waiting for the upstream's response headers after this long; a streamed body has no limit (default 10m)")
	return f
}

// Apply applies the flags the user set over c.
func (f *Flags) Apply(c *Config) error {
	var err error
	f.fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "listen":
			c.Listen = f.listen
		case "upstream":
			c.Upstream = f.upstream
		case "strategy":
			c.Strategy = f.strategy
		case "refresh-buffer":
			c.RefreshBuffer = f.refreshBuffer
		case "cooldown-429":
			c.Cooldown429 = f.cooldown429
		case "cooldown-529":
			c.Cooldown529 = f.cooldown529
		case "body-limit":
			c.BodyLimit = f.bodyLimit
		case "dial-timeout":
			c.DialTimeout = f.dialTimeout
		case "tls-timeout":
			c.TLSTimeout = f.tlsTimeout
		case "header-timeout":
			c.HeaderTimeout = f.headerTimeout
		case "secret-file":
			b, rerr := os.ReadFile(f.secretFile)
			if rerr != nil {
				err = fmt.Errorf("--secret-file: %w", rerr)
				return
			}
			c.ProxySecret = strings.TrimSpace(string(b))
			if c.ProxySecret == "" {
				err = fmt.Errorf("--secret-file %s is empty", f.secretFile)
			}
		}
	})
	if err != nil {
		return err
	}
	return c.Validate()
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
	for _, d := range []struct {
		key string
		v   Duration
	}{{"refreshBuffer", c.RefreshBuffer}, {"cooldown429", c.Cooldown429}, {"cooldown529", c.Cooldown529},
		{"dialTimeout", c.DialTimeout}, {"tlsTimeout", c.TLSTimeout}, {"headerTimeout", c.HeaderTimeout}} {
		if d.v <= 0 { // zero would silently mean the default further down
			return fmt.Errorf("%s %s: want a positive duration, e.g. \"90s\"", d.key, d.v)
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

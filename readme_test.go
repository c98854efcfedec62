package main

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cc-router/cc-router/internal/config"
	"github.com/cc-router/cc-router/internal/service"
	"github.com/cc-router/cc-router/tray"
)

// TestEveryCommandAndFlagInTheREADMEExists keeps README.md and the binary's
// own help from drifting: each `cc-router COMMAND` the README names must be
// a command, and each --flag must be one of that command's flags: in a
// code block, the flags after the command; in prose, every `--flag` span
// on a line naming commands belongs to one of them, and one on a line
// naming none to some command.
func TestEveryCommandAndFlagInTheREADMEExists(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	invocation := regexp.MustCompile(`(?:^|[\s\x60(/])cc-router((?:\s+[a-z][a-z-]*)?)([^\x60|\n]*)`)
	flagRE := regexp.MustCompile(`(?:^|\s|\(|\x60)--([a-z][a-z-]*)`)
	inlineCode := regexp.MustCompile("\x60[^\x60]+\x60")
	shown := map[string]bool{}
	inFence := false
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "\x60\x60\x60") {
			inFence = !inFence
			continue
		}
		// Only code counts: fenced blocks whole, and inline `code` spans.
		code := line
		if i := strings.Index(line, " #"); inFence && i >= 0 {
			code = line[:i] // a shell comment is prose
		}
		if !inFence {
			code = strings.Join(inlineCode.FindAllString(line, -1), " ")
		}
		var named []string  // the commands the line names
		var flagText string // where the line's cc-router flags are
		for _, m := range invocation.FindAllStringSubmatch(code, -1) {
			name := strings.TrimSpace(m[1])
			if name == "" || strings.HasPrefix(name, "-") {
				name = defaultCommand
			}
			if name == "help" {
				continue
			}
			if _, ok := commands[name]; !ok {
				t.Errorf("README names `cc-router %s`, which is not a command (line: %q)", name, strings.TrimSpace(line))
				continue
			}
			named = append(named, name)
			shown[name] = true
			flagText += " " + m[2]
		}
		if !inFence {
			flagText = code // prose: every flag span on the line
		}
		for _, f := range flagRE.FindAllStringSubmatch(flagText, -1) {
			if f[1] == "help" {
				continue // every command has it (TestEveryCommandHasHelpWithExamples)
			}
			candidates := named
			if len(named) == 0 {
				if inFence {
					continue // another program's flag (docker, make)
				}
				candidates = slices.Sorted(maps.Keys(commands))
			}
			if !slices.ContainsFunc(candidates, func(c string) bool { return flagsOf(t, c)[f[1]] }) {
				t.Errorf("README gives --%s with %v, but no such command has that flag (line: %q)", f[1], candidates, strings.TrimSpace(line))
			}
		}
	}
	for _, must := range []string{"serve", "login", "status", "configure-claude"} {
		if !shown[must] {
			t.Errorf("README never shows `cc-router %s`", must)
		}
	}
}

// flagsOf returns the flags `cc-router NAME --help` lists.
func flagsOf(t *testing.T, name string) map[string]bool {
	t.Helper()
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z][a-z-]*)\b`).FindAllStringSubmatch(helpOf(t, name), -1) {
		flags[m[1]] = true
	}
	return flags
}

func helpOf(t *testing.T, name string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run([]string{name, "--help"}, &out, &errOut); code != 0 {
		t.Fatalf("cc-router %s --help exited %d: %s", name, code, errOut.String())
	}
	return out.String() + errOut.String()
}

func TestEveryCommandHasHelpWithExamples(t *testing.T) {
	for name := range commands {
		help := helpOf(t, name)
		if !strings.Contains(help, "Example") {
			t.Errorf("cc-router %s --help has no examples:\n%s", name, help)
		}
	}
}

// TestDockerFilesMatchTheBinary checks the Dockerfile and the compose file
// against the code, since neither can be run by the test suite: the
// commands, flags and variables they use exist, and the ports, paths and
// names they share agree.
func TestDockerFilesMatchTheBinary(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	dockerfile, compose, ignore := read("Dockerfile"), read("docker-compose.yml"), read(".dockerignore")

	env := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(?:ENV\s+|\s+)(CC_ROUTER_[A-Z_]+)=(\S+)`).FindAllStringSubmatch(dockerfile, -1) {
		env[m[1]] = m[2]
		if !strings.Contains(config.Env, m[1]) {
			t.Errorf("the Dockerfile sets %s, which cc-router does not read", m[1])
		}
	}
	if env["CC_ROUTER_HOME"] != "/data" || !strings.HasPrefix(env["CC_ROUTER_LISTEN"], "0.0.0.0:") {
		t.Errorf("the image should keep its state in /data and listen on 0.0.0.0: %v", env)
	}
	_, port, _ := strings.Cut(env["CC_ROUTER_LISTEN"], ":")
	if !strings.Contains(dockerfile, "EXPOSE "+port) || !strings.Contains(compose, `"127.0.0.1:`+port+":"+port+`"`) {
		t.Errorf("the Dockerfile's EXPOSE and the compose port should be the listen port %s", port)
	}
	if m := regexp.MustCompile(`(?m)^CMD \["([a-z-]+)"\]`).FindStringSubmatch(dockerfile); m == nil || commands[m[1]] == nil {
		t.Errorf("the Dockerfile's CMD is not a cc-router command: %v", m)
	}
	if !regexp.MustCompile(`(?m)^USER [1-9]`).MatchString(dockerfile) {
		t.Error("the image does not run as a non-root user")
	}

	m := regexp.MustCompile(`(?m)^    command: (\[.*\])$`).FindStringSubmatch(compose)
	if m == nil {
		t.Fatal("no command for the cc-router service in docker-compose.yml")
	}
	var argv []string
	if err := json.Unmarshal([]byte(m[1]), &argv); err != nil || len(argv) == 0 || commands[argv[0]] == nil {
		t.Fatalf("the compose command %s is not a cc-router command (%v)", m[1], err)
	}
	help := helpOf(t, argv[0])
	for i, a := range argv {
		if strings.HasPrefix(a, "--") && !strings.Contains(help, "-"+strings.TrimLeft(a, "-")+" ") {
			t.Errorf("the compose command uses %s, which `cc-router %s --help` lacks", a, argv[0])
		}
		if a == "--upstream" && (argv[i+1] != "http://litellm:4000" || !strings.Contains(compose, `"--port", "4000"`)) {
			t.Errorf("the compose upstream %s is not the litellm service's port 4000", argv[i+1])
		}
		if a == "--secret-file" && (argv[i+1] != "/run/secrets/proxy-secret" || !strings.Contains(compose, "  proxy-secret:\n    file: ./proxy-secret")) {
			t.Errorf("the compose secret file %s is not the proxy-secret secret", argv[i+1])
		}
	}
	var graceSeconds int
	if m := regexp.MustCompile(`(?m)^    stop_grace_period: (\d+)s$`).FindStringSubmatch(compose); m != nil {
		graceSeconds, _ = strconv.Atoi(m[1])
	}
	if time.Duration(graceSeconds)*time.Second <= shutdownGrace {
		t.Errorf("the compose file gives serve %ds to stop, not more than the %v it lets streams run", graceSeconds, shutdownGrace)
	}
	if !strings.Contains(dockerfile, "--stop-timeout 40") || !strings.Contains(read("README.md"), "--stop-timeout 40") {
		t.Error("the docker run examples should give serve time to let streams finish (--stop-timeout 40)")
	}
	if !strings.Contains(compose, ":/data\n") {
		t.Error("the compose file does not mount the accounts directory on /data")
	}
	for _, secret := range []string{"accounts.json", ".credentials.json", "proxy-secret"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(secret) + `$`).MatchString(ignore) {
			t.Errorf(".dockerignore does not exclude %s", secret)
		}
	}
}

// TestTheREADMENamesTheFilesStartAtLoginWrites keeps the README's paths of
// the login service and the autostart entry true.
func TestTheREADMENamesTheFilesStartAtLoginWrites(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{service.SystemdUnit, service.LaunchdLabel + ".plist"}
	if runtime.GOOS == "linux" || runtime.GOOS == "darwin" {
		names = append(names, filepath.Base(tray.DefaultAutostart().Path))
	}
	for _, name := range names {
		if !bytes.Contains(readme, []byte(name)) {
			t.Errorf("README.md does not name %s", name)
		}
	}
}

// TestTheREADMEListsTheHostsTheEgressPolicyAllows keeps the security
// section's host table true: each default host the router may reach is in
// it.
func TestTheREADMEListsTheHostsTheEgressPolicyAllows(t *testing.T) {
	t.Setenv("CC_ROUTER_TOKEN_URL", "")
	t.Setenv("CC_ROUTER_API_URL", "")
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"} {
		t.Setenv(k, "")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	g, err := newEgressGuard(config.Defaults().Upstream)
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range g.Allowed() {
		if !bytes.Contains(readme, []byte("| `"+host+"` |")) {
			t.Errorf("README's host table lacks %s, which the router may reach", host)
		}
	}
}

func TestCommandsWithoutArgumentsRefuseAStrayOne(t *testing.T) {
	for _, name := range []string{"serve", "status", "config", "version", "login", "import", "configure-claude", "tray"} {
		var out, errOut bytes.Buffer
		if code := run([]string{name, "stray"}, &out, &errOut); code != 2 {
			t.Errorf("cc-router %s stray exited %d, want 2", name, code)
		}
		if !strings.Contains(errOut.String(), `unexpected argument "stray"`) {
			t.Errorf("cc-router %s stray: stderr %q does not name the argument", name, errOut.String())
		}
	}
}

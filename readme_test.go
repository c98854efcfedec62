package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestEveryCommandAndFlagInTheREADMEExists keeps README.md and the binary's
// own help from drifting: each `cc-router COMMAND` the README names must be
// a command, and each --flag on such a line must appear in that command's
// --help output.
func TestEveryCommandAndFlagInTheREADMEExists(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	invocation := regexp.MustCompile(`(?:^|[\s\x60(/])cc-router((?:\s+[a-z][a-z-]*)?)([^\x60|\n]*)`)
	flagRE := regexp.MustCompile(`(?:^|\s|\()(--[a-z][a-z-]*)`)
	inlineCode := regexp.MustCompile("\x60[^\x60]+\x60")
	checked := map[string]bool{}
	inFence := false
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "\x60\x60\x60") {
			inFence = !inFence
			continue
		}
		// Only code counts: fenced blocks whole, and inline `code` spans.
		code := []string{line}
		if i := strings.Index(line, " #"); inFence && i >= 0 {
			code = []string{line[:i]} // a shell comment is prose
		}
		if !inFence {
			code = inlineCode.FindAllString(line, -1)
		}
		for _, m := range invocation.FindAllStringSubmatch(strings.Join(code, " "), -1) {
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
			help := helpOf(t, name)
			for _, f := range flagRE.FindAllStringSubmatch(m[2], -1) {
				key := name + " " + f[1]
				if checked[key] {
					continue
				}
				checked[key] = true
				if !strings.Contains(help, "-"+strings.TrimLeft(f[1], "-")) {
					t.Errorf("README gives `cc-router %s %s`, but its --help has no such flag", name, f[1])
				}
			}
			checked[name] = true
		}
	}
	for _, must := range []string{"serve", "login", "status", "configure-claude"} {
		if !checked[must] {
			t.Errorf("README never shows `cc-router %s`", must)
		}
	}
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

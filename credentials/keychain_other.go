//go:build !darwin

package credentials

import (
	"context"
	"fmt"
	"runtime"
)

func defaultSource() (source, ref string, err error) {
	return SourceClaudeCode, ClaudeCredentialsPath(), nil
}

// readKeychain fails: the Keychain exists only on macOS.
func readKeychain(ctx context.Context, service string) (*ClaudeLogin, error) {
	return nil, fmt.Errorf("the macOS Keychain is not available on %s; import with --from claude-code or a file path", runtime.GOOS)
}

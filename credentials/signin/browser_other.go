//go:build !linux && !darwin

package signin

// platformOpeners returns nothing: only macOS and Linux have a default
// opener; BROWSER still works.
func platformOpeners() []string { return nil }

// noBrowserReason says why platformOpeners found nothing.
func noBrowserReason() string { return "BROWSER is not set and this platform has no default opener" }

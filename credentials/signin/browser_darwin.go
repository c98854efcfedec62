package signin

// platformOpeners returns macOS's open, by absolute path.
func platformOpeners() []string { return []string{"/usr/bin/open"} }

// noBrowserReason says why platformOpeners found nothing.
func noBrowserReason() string { return "BROWSER is empty" }

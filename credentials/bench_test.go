package credentials_test

import (
	"context"
	"testing"
	"time"

	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

// BenchmarkAccessTokenValid is the proxy's per-request path: a token valid
// beyond the buffer, answered from memory.
func BenchmarkAccessTokenValid(b *testing.B) {
	fake := fakeanthropic.New()
	defer fake.Close()
	path := writeAccounts(b, seedFrom("acct", fake.IssueTokens(""), time.Now().Add(8*time.Hour)))
	m := newManager(b, path, fake)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.AccessToken(ctx, "acct"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRefresh is one full refresh: lock, re-read, token call to the
// loopback fake, durable rewrite.
func BenchmarkRefresh(b *testing.B) {
	fake := fakeanthropic.New()
	defer fake.Close()
	path := writeAccounts(b, seedFrom("acct", fake.IssueTokens(""), time.Now().Add(8*time.Hour)))
	m := newManager(b, path, fake)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Refresh(ctx, "acct"); err != nil {
			b.Fatal(err)
		}
	}
}

package fakeanthropic

import (
	"io"
	"net/http"
	"testing"
)

func TestConnsOpenedCountsAcceptedConnections(t *testing.T) {
	tests := []struct {
		name      string
		keepAlive bool
		want      int64
	}{
		{"a keep-alive client reuses one connection", true, 1},
		{"a client without keep-alive opens one per request", false, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			defer s.Close()
			tr := &http.Transport{DisableKeepAlives: !tt.keepAlive}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}
			for range 5 {
				resp, err := c.Get(s.URL + "/conns-test")
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if got := s.ConnsOpened(); got != tt.want {
				t.Errorf("ConnsOpened() = %d, want %d", got, tt.want)
			}
		})
	}
}

package proxy

import (
	"fmt"
	"sync/atomic"
)

// Candidate is a usable account as a selection policy sees it.
type Candidate struct {
	ID string
	// Util5h and Util7d are the 5h and 7d utilizations (0..1, may exceed
	// 1) that still hold now; a window whose reset has passed counts 0.
	Util5h float64
	Util7d float64
	// Cap5h and Cap7d are the user's caps as fractions (0..1]; 1 when the
	// user set none.
	Cap5h float64
	Cap7d float64
}

// headroom is how much of its tighter window the account has left before
// its cap: min(cap5h-util5h, cap7d-util7d).
func (c *Candidate) headroom() float64 {
	return min(c.Cap5h-c.Util5h, c.Cap7d-c.Util7d)
}

// Policy chooses the account for a new session (or a request without
// one) among usable candidates. Implementations must be safe for
// concurrent use and must not keep cands, which the caller reuses.
type Policy interface {
	// Pick returns the index in cands of the chosen account; cands is
	// never empty.
	Pick(cands []Candidate) int
}

// Strategy names accepted by Config.Strategy and `serve --strategy`.
const (
	StrategyHeadroom   = "headroom"
	StrategyRoundRobin = "round-robin"
)

// NewPolicy returns the policy named by strategy ("" means headroom).
func NewPolicy(strategy string) (Policy, error) {
	switch strategy {
	case "", StrategyHeadroom:
		return &HeadroomPolicy{}, nil
	case StrategyRoundRobin, "roundrobin", "round_robin":
		return &RoundRobinPolicy{}, nil
	}
	return nil, fmt.Errorf("unknown strategy %q (want %q or %q)", strategy, StrategyHeadroom, StrategyRoundRobin)
}

// HeadroomPolicy picks the candidate with the most headroom: the one whose
// tighter window (5h or 7d, measured against the user's cap) is least
// used. Ties are broken round-robin, so fresh accounts that have reported
// nothing yet share new sessions evenly.
type HeadroomPolicy struct {
	next atomic.Uint64
}

// Pick implements Policy.
func (p *HeadroomPolicy) Pick(cands []Candidate) int {
	best, ties := cands[0].headroom(), 0
	for i := range cands {
		switch room := cands[i].headroom(); {
		case room > best:
			best, ties = room, 1
		case room == best:
			ties++
		}
	}
	k := int(p.next.Add(1)-1) % ties
	for i := range cands {
		if cands[i].headroom() == best {
			if k == 0 {
				return i
			}
			k--
		}
	}
	return 0
}

// RoundRobinPolicy takes the candidates in turn, ignoring utilization.
type RoundRobinPolicy struct {
	next atomic.Uint64
}

// Pick implements Policy.
func (p *RoundRobinPolicy) Pick(cands []Candidate) int {
	return int(p.next.Add(1)-1) % len(cands)
}

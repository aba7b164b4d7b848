package alerts

import (
	"slices"
	"testing"
)

// The routing's list of sources (what a configuration may name) and the
// table the engine runs are the same sources, so a new one cannot be
// raised without being routable, or routed without being raised.
func TestSourcesAreTheTable(t *testing.T) {
	var table []string
	for _, s := range sources {
		table = append(table, s.name)
	}
	listed := slices.Clone(Sources)
	slices.Sort(table)
	slices.Sort(listed)
	if !slices.Equal(table, listed) {
		t.Errorf("the sources table runs %v; the routing lists %v", table, listed)
	}
}

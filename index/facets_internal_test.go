package index

import (
	"testing"

	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// fakeSegment stands for a segment as a map key; nothing calls it.
type fakeSegment struct {
	segment.Segment
	n int
}

// The cache of segments' facet terms forgets the segments merged away once
// it outgrows its bound, and keeps the live ones.
func TestFacetValuesForgetOldSegments(t *testing.T) {
	var v facetValues
	v.m = map[valueKey][][]byte{}
	live := &fakeSegment{n: -1}
	v.m[valueKey{live, "scene"}] = [][]byte{[]byte("scene=facilities")}
	for i := range maxFacetValues - 1 {
		v.m[valueKey{&fakeSegment{n: i}, "scene"}] = nil
	}
	v.keep([]segment.Segment{live})
	if len(v.m) != maxFacetValues {
		t.Fatalf("pruned at %d entries, below the bound", len(v.m))
	}
	v.m[valueKey{&fakeSegment{n: maxFacetValues}, "channel"}] = nil
	v.keep([]segment.Segment{live})
	if len(v.m) != 1 || v.m[valueKey{live, "scene"}] == nil {
		t.Errorf("after pruning: %d entries, the live segment's kept: %v", len(v.m), v.m[valueKey{live, "scene"}] != nil)
	}
}

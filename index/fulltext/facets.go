package fulltext

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"dongting/index/work"
	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// Facets are counted in a pass of their own, beside the query that ranks
// the page, from postings rather than from each hit's values. Per shard,
// the pass walks the query's matches unscored and only notes their
// document numbers, one bitmap per segment; then, for every value of a
// wanted facet field, the segment's postings of its term are intersected
// with those hits (PostingsList with the non-hits as exceptions, whose
// Count is a roaring AND-cardinality). A common word at a million records
// has ~200,000 hits and the four usual facets ~200 terms a segment:
// reading and splitting each hit's facet column (the way before) was half
// of the query's CPU; the intersections take ~6 ms a shard (CPU profile of
// `bench -mode search`).

// facetTally counts "field=value" terms and the matches.
type facetTally struct {
	counts map[string]int
	hits   uint64
}

// countFacets counts the wanted facet fields' terms over every match of q
// in every shard, and the matches.
func (s *Index) countFacets(ctx context.Context, q query.Query, fields []string) (uint64, map[string]int, error) {
	tallies := make([]*facetTally, len(s.shards))
	errs := make([]error, len(s.shards))
	var wg sync.WaitGroup
	for i := range s.shards {
		tallies[i] = &facetTally{counts: map[string]int{}}
		wg.Go(func() {
			errs[i] = work.Safely(fmt.Sprintf("facet count of shard %d", i), func() error { return s.countShard(ctx, i, q, fields, tallies[i]) })
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, nil, err
	}
	var total uint64
	counts := map[string]int{}
	for _, t := range tallies {
		total += t.hits
		for term, n := range t.counts {
			counts[term] += n
		}
	}
	return total, counts, nil
}

func (s *Index) countShard(ctx context.Context, shard int, q query.Query, fields []string, t *facetTally) error {
	adv, err := s.shards[shard].Advanced()
	if err != nil {
		return err
	}
	r, err := adv.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		return fmt.Errorf("index: facets: a %T is not a scorch snapshot", r)
	}
	// A match's internal id is its global document number: the segment's
	// offset (the sizes of the segments before it, deleted documents
	// included) plus its number in the segment.
	segs := snap.Segments()
	offsets := make([]uint64, len(segs)+1)
	for i, sg := range segs {
		offsets[i+1] = offsets[i] + uint64(sg.FullSize())
	}
	hits := make([]*roaring.Bitmap, len(segs))
	searcher, err := q.Searcher(ctx, r, s.mapping(), search.SearcherOptions{Score: "none"})
	if err != nil {
		return err
	}
	defer searcher.Close()
	sctx := &search.SearchContext{DocumentMatchPool: search.NewDocumentMatchPool(searcher.DocumentMatchPoolSize(), 0)}
	seg := 0
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		d, err := searcher.Next(sctx)
		if err != nil {
			return fmt.Errorf("index: facets: %w", err)
		}
		if d == nil {
			break
		}
		num := d.IndexInternalID.Value()
		sctx.DocumentMatchPool.Put(d)
		for seg < len(segs) && num >= offsets[seg+1] {
			seg++ // matches come in document order
		}
		if seg == len(segs) {
			return fmt.Errorf("index: facets: document %d past the last segment", num)
		}
		if hits[seg] == nil {
			hits[seg] = roaring.New()
		}
		hits[seg].Add(uint32(num - offsets[seg]))
		t.hits++
	}
	if t.hits == 0 {
		return nil
	}
	// Each segment's terms of each wanted field, intersected with its hits.
	var pl segment.PostingsList
	for i, sg := range segs {
		if hits[i] == nil {
			continue
		}
		except := roaring.Flip(hits[i], 0, uint64(sg.FullSize()))
		dicts := map[string]segment.TermDictionary{}
		for _, f := range fields {
			name := facetField
			if filterFacets[f] {
				name = filterField
			}
			dict, ok := dicts[name]
			if !ok {
				if dict, err = sg.Segment().Dictionary(name); err != nil {
					return fmt.Errorf("index: facets: %w", err)
				}
				dicts[name] = dict
			}
			terms, err := s.values[shard].terms(sg.Segment(), dict, f)
			if err != nil {
				return fmt.Errorf("index: facets: %w", err)
			}
			for _, tm := range terms {
				if pl, err = dict.PostingsList(tm, except, pl); err != nil {
					return fmt.Errorf("index: facets: %w", err)
				}
				if n := pl.Count(); n > 0 {
					t.counts[string(tm)] += int(n)
				}
			}
		}
	}
	live := make([]segment.Segment, len(segs))
	for i, sg := range segs {
		live[i] = sg.Segment()
	}
	s.values[shard].keep(live)
	return nil
}

// facetValues remembers each segment's terms of each facet field, one per
// shard. Segments never change, and walking their dictionaries for every
// query was a tenth of a common word's query at 1M records.
type facetValues struct {
	mu  sync.Mutex
	m   map[valueKey][][]byte
	max int // entries held before the segments gone are forgotten (0: maxFacetValues)
}

type valueKey struct {
	seg   segment.Segment
	field string
}

func (v *facetValues) terms(seg segment.Segment, dict segment.TermDictionary, field string) ([][]byte, error) {
	k := valueKey{seg, field}
	v.mu.Lock()
	terms, ok := v.m[k]
	v.mu.Unlock()
	if ok {
		return terms, nil
	}
	prefix := []byte(term(field, ""))
	end := append(prefix[:len(prefix)-1:len(prefix)-1], '='+1) // "field>"
	it := dict.AutomatonIterator(nil, prefix, end)
	for {
		e, err := it.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			break
		}
		terms = append(terms, []byte(e.Term))
	}
	v.mu.Lock()
	if v.m == nil {
		v.m = map[valueKey][][]byte{}
	}
	v.m[k] = terms
	v.mu.Unlock()
	return terms, nil
}

// keep forgets segments merged away once the map outgrows a few
// snapshots: entries of segments not in segs, the shard's live ones, are
// dropped.
func (v *facetValues) keep(segs []segment.Segment) {
	v.mu.Lock()
	defer v.mu.Unlock()
	bound := v.max
	if bound == 0 {
		bound = maxFacetValues
	}
	if len(v.m) <= bound {
		return
	}
	for k := range v.m {
		if !slices.Contains(segs, k.seg) {
			delete(v.m, k)
		}
	}
}

// maxFacetValues is how many segment × field entries a shard's
// facetValues holds before it forgets the segments gone: a settled shard
// at 1M records has ~20 segments, each with up to 9 facet fields.
const maxFacetValues = 64 * 8

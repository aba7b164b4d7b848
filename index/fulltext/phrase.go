package fulltext

import (
	"context"
	"slices"

	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/searcher"
	bleveindex "github.com/blevesearch/bleve_index_api"
)

// phraseQuery matches a phrase's words at consecutive positions. Bleve's
// phrase searcher walks, for every position of one word in a record,
// every position of the next: a 1 MiB record with ~11,600 of each took
// 0.8 s per phrase search. Here the words' positions are intersected
// once, shifted by their place in the phrase: linear in the positions.
// The hit keeps only the locations of the phrase's matches (for snippets).
type phraseQuery struct {
	field string
	// slots are the terms at each place of the phrase, counted from the
	// first: one term, alternatives at one place, or none (a gap the
	// analyzer left, which any word fills).
	slots [][]string
}

func (q *phraseQuery) Searcher(ctx context.Context, r bleveindex.IndexReader, m mapping.IndexMapping, options search.SearcherOptions) (search.Searcher, error) {
	opt := options
	opt.IncludeTermVectors = true // positions are what a phrase is checked by
	var parts []search.Searcher
	fail := func(err error) (search.Searcher, error) {
		for _, p := range parts {
			p.Close()
		}
		return nil, err
	}
	for _, slot := range q.slots {
		var alts []search.Searcher
		for _, t := range slot {
			s, err := searcher.NewTermSearcher(ctx, r, t, q.field, 1, opt)
			if err != nil {
				for _, a := range alts {
					a.Close()
				}
				return fail(err)
			}
			alts = append(alts, s)
		}
		switch len(alts) {
		case 0:
			continue
		case 1:
			parts = append(parts, alts[0])
		default:
			d, err := searcher.NewDisjunctionSearcher(ctx, r, alts, 1, opt)
			if err != nil {
				for _, a := range alts {
					a.Close()
				}
				return fail(err)
			}
			parts = append(parts, d)
		}
	}
	all, err := searcher.NewConjunctionSearcher(ctx, r, parts, opt)
	if err != nil {
		return fail(err)
	}
	keep := options.IncludeTermVectors
	return searcher.NewFilteringSearcher(ctx, all, func(_ *search.SearchContext, d *search.DocumentMatch) bool {
		ok := q.match(d)
		if !keep {
			d.FieldTermLocations = d.FieldTermLocations[:0]
		}
		return ok
	}), nil
}

// match reports whether d holds the phrase, and keeps in d only the
// locations of its matches.
func (q *phraseQuery) match(d *search.DocumentMatch) bool {
	at := func(slot []string) []uint64 {
		var out []uint64
		for _, l := range d.FieldTermLocations {
			if l.Field == q.field && slices.Contains(slot, l.Term) {
				out = append(out, l.Location.Pos)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	var starts []uint64
	first := true
	for i, slot := range q.slots {
		if len(slot) == 0 {
			continue
		}
		pos := at(slot)
		if first {
			for _, p := range pos {
				if p > uint64(i) {
					starts = append(starts, p-uint64(i))
				}
			}
			first = false
			continue
		}
		// Keep the starts whose word at place i is there: both lists are
		// sorted, one pass.
		kept, j := starts[:0], 0
		for _, s := range starts {
			want := s + uint64(i)
			for j < len(pos) && pos[j] < want {
				j++
			}
			if j < len(pos) && pos[j] == want {
				kept = append(kept, s)
			}
		}
		starts = kept
		if len(starts) == 0 {
			return false
		}
	}
	if len(starts) == 0 {
		return false
	}
	kept := d.FieldTermLocations[:0]
	for _, l := range d.FieldTermLocations {
		for i, slot := range q.slots {
			if l.Location.Pos > uint64(i) && slices.Contains(slot, l.Term) {
				if _, found := slices.BinarySearch(starts, l.Location.Pos-uint64(i)); found {
					kept = append(kept, l)
					break
				}
			}
		}
	}
	d.FieldTermLocations = kept
	return true
}

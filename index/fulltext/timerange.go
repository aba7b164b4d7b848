package fulltext

import (
	"bytes"
	"context"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/searcher"
	bleveindex "github.com/blevesearch/bleve_index_api"
)

// A record's time is indexed as four exact terms, not as a Bleve date:
// a date is 16 prefix-coded terms per record, and its finest ones are
// near-unique, so at 1M records they made millions of dictionary terms and
// a seventh of a bulk load's CPU. The terms are:
//   - ts: the second in UTC (timeSortLayout), also the doc values that
//     newest and oldest sort on;
//   - hour=YYYYMMDDHH and day=YYYYMMDD in the filter field, in the
//     service's zone;
//   - month=YYYY-MM in the facet field (also the month facet).
//
// Without words, a time range [from, to) becomes term ranges on the
// coarsest terms that fit (with words, see inSeconds): whole months in the middle, whole days on either side of them,
// whole hours beside those and seconds in the partial hours at the ends.
// A range over a year reads a dozen month terms, not a million second
// terms, and at most a few hundred terms in all (every term is a searcher
// of its own: without hours, the seconds of two partial days were ~5,000
// terms at 1M records and made a ranged query 5× slower). In a zone with
// daylight saving, the repeated hour's two halves share one hour term.
const (
	timeSortField  = "ts"
	timeSortLayout = "20060102150405"
	hourLayout     = "2006010215"
	dayLayout      = "20060102"
	monthLayout    = "2006-01"
)

// span is the time range [lo, hi); a zero end is open.
type span struct{ lo, hi time.Time }

// unit is a calendar unit in the service's zone: floor is the start of
// the unit holding t, next the start of the one after.
type unit struct{ floor, next func(t time.Time) time.Time }

func (s *Index) hours() unit {
	floor := func(t time.Time) time.Time {
		l := t.In(s.loc)
		y, m, d := l.Date()
		return time.Date(y, m, d, l.Hour(), 0, 0, 0, s.loc)
	}
	return unit{floor, func(t time.Time) time.Time { return floor(t).Add(time.Hour) }}
}

func (s *Index) days() unit {
	floor := func(t time.Time) time.Time {
		y, m, d := t.In(s.loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, s.loc)
	}
	return unit{floor, func(t time.Time) time.Time { return floor(t).AddDate(0, 0, 1) }}
}

func (s *Index) months() unit {
	floor := func(t time.Time) time.Time {
		y, m, _ := t.In(s.loc).Date()
		return time.Date(y, m, 1, 0, 0, 0, 0, s.loc)
	}
	return unit{floor, func(t time.Time) time.Time { return floor(t).AddDate(0, 1, 0) }}
}

// split cuts sp into the whole units it covers (mid) and the parts of a
// unit before and after them (ends); ok is false when no whole unit fits.
func (u unit) split(sp span) (ends []span, mid span, ok bool) {
	a, b := sp.lo, sp.hi
	if !a.IsZero() && !u.floor(a).Equal(a) {
		a = u.next(a)
	}
	if !b.IsZero() {
		b = u.floor(b)
	}
	if !sp.lo.IsZero() && !sp.hi.IsZero() && !a.Before(b) {
		// Inside one unit, or across one boundary with no whole unit.
		if a.After(b) {
			return []span{sp}, span{}, false
		}
		return trimEmpty(span{sp.lo, a}, span{b, sp.hi}), span{}, false
	}
	return trimEmpty(span{sp.lo, a}, span{b, sp.hi}), span{a, b}, true
}

func trimEmpty(spans ...span) []span {
	var out []span
	for _, sp := range spans {
		if !sp.lo.IsZero() && !sp.hi.IsZero() && sp.lo.Before(sp.hi) {
			out = append(out, sp)
		}
	}
	return out
}

// timeRange selects the records whose time is in [from, to), to the
// second; a zero end is open (not both).
func (s *Index) timeRange(from, to time.Time) query.Query {
	from, to = from.Truncate(time.Second), to.Truncate(time.Second)
	levels := []struct {
		unit        unit   // the next coarser level's unit
		field, kind string // this level's terms
		layout      string // … and their format
		loc         *time.Location
	}{
		{s.hours(), timeSortField, "", timeSortLayout, time.UTC},
		{s.days(), filterField, "hour", hourLayout, s.loc},
		{s.months(), filterField, "day", dayLayout, s.loc},
		{unit{}, facetField, "month", monthLayout, s.loc},
	}
	var parts []query.Query
	rest := span{from, to}
	for _, l := range levels {
		format := func(t time.Time) string { return t.In(l.loc).Format(l.layout) }
		if l.unit.floor == nil { // the coarsest level takes what is left
			parts = append(parts, termRange(l.field, l.kind, rest, format))
			break
		}
		ends, mid, ok := l.unit.split(rest)
		for _, sp := range ends {
			parts = append(parts, termRange(l.field, l.kind, sp, format))
		}
		if !ok {
			break
		}
		rest = mid
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return bleve.NewDisjunctionQuery(parts...)
}

// termRange matches the terms of field from format(sp.lo) inclusive to
// format(sp.hi) exclusive, each after kind's "kind=" prefix; an open end
// stops at the prefix's first or last term.
func termRange(field, kind string, sp span, format func(time.Time) string) query.Query {
	prefix := ""
	if kind != "" {
		prefix = term(kind, "")
	}
	lo, hi := prefix, prefix+"~" // '~' sorts after every digit
	if !sp.lo.IsZero() {
		lo = prefix + format(sp.lo)
	}
	if !sp.hi.IsZero() {
		hi = prefix + format(sp.hi)
	}
	incl, excl := true, false
	q := bleve.NewTermRangeInclusiveQuery(lo, hi, &incl, &excl)
	q.SetField(field)
	return q
}

// inSeconds keeps the hits of q whose time is in [from, to) to the second
// (a zero end is open), reading each hit's ts doc value. It is how a text
// query's hits are filtered by time: the term ranges of timeRange walk the
// postings of every record in the range (half the corpus for six months),
// while a text query's hits are usually far fewer.
func inSeconds(q query.Query, from, to time.Time) query.Query {
	f := &secondsFilter{q: q}
	if !from.IsZero() {
		f.lo = []byte(from.UTC().Format(timeSortLayout))
	}
	if !to.IsZero() {
		f.hi = []byte(to.UTC().Format(timeSortLayout))
	}
	return f
}

type secondsFilter struct {
	q      query.Query
	lo, hi []byte // an empty end is open
}

func (f *secondsFilter) Searcher(ctx context.Context, r bleveindex.IndexReader, m mapping.IndexMapping, options search.SearcherOptions) (search.Searcher, error) {
	s, err := f.q.Searcher(ctx, r, m, options)
	if err != nil {
		return nil, err
	}
	dv, err := r.DocValueReader([]string{timeSortField})
	if err != nil {
		s.Close()
		return nil, err
	}
	var in bool
	visit := func(_ string, ts []byte) {
		in = (len(f.lo) == 0 || bytes.Compare(ts, f.lo) >= 0) && (len(f.hi) == 0 || bytes.Compare(ts, f.hi) < 0)
	}
	// A hit whose doc value cannot be read is left out (a filter cannot
	// return an error); every indexed record with a time has one.
	return searcher.NewFilteringSearcher(ctx, s, func(_ *search.SearchContext, d *search.DocumentMatch) bool {
		in = false
		return dv.VisitDocValues(d.IndexInternalID, visit) == nil && in
	}), nil
}

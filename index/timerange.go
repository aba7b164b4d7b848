package index

import (
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// A record's time is indexed as three exact terms, not as a Bleve date:
// a date is 16 prefix-coded terms per record, and its finest ones are
// near-unique, so at 1M records they made millions of dictionary terms and
// a seventh of a bulk load's CPU. The terms are:
//   - ts: the second in UTC (timeSortLayout), also the doc values that
//     newest and oldest sort on;
//   - day=YYYYMMDD in the filter field, the day in the service's zone;
//   - month=YYYY-MM in facet_more (also the month facet).
//
// A time range [from, to) becomes term ranges on the coarsest terms that
// fit: whole months in the middle, whole days on either side of them, and
// seconds in the partial days at the ends. A range over a year reads a
// dozen month terms, not a million second terms.
const (
	timeSortField  = "ts"
	timeSortLayout = "20060102150405"
	dayLayout      = "20060102"
	monthLayout    = "2006-01"
)

// span is the time range [lo, hi); a zero end is open.
type span struct{ lo, hi time.Time }

// unit is a calendar unit in the service's zone: floor is the start of
// the unit holding t, next the start of the one after.
type unit struct{ floor, next func(t time.Time) time.Time }

func (s *Search) days() unit {
	floor := func(t time.Time) time.Time {
		y, m, d := t.In(s.loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, s.loc)
	}
	return unit{floor, func(t time.Time) time.Time { return floor(t).AddDate(0, 0, 1) }}
}

func (s *Search) months() unit {
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
func (s *Search) timeRange(from, to time.Time) query.Query {
	from, to = from.Truncate(time.Second), to.Truncate(time.Second)
	var parts []query.Query
	ends, days, ok := s.days().split(span{from, to})
	for _, sp := range ends {
		parts = append(parts, termRange(timeSortField, "", sp, func(t time.Time) string { return t.UTC().Format(timeSortLayout) }))
	}
	if ok {
		ends, months, ok := s.months().split(days)
		for _, sp := range ends {
			parts = append(parts, termRange(filterField, "day", sp, func(t time.Time) string { return t.In(s.loc).Format(dayLayout) }))
		}
		if ok {
			parts = append(parts, termRange(facetColumn("month"), "month", months, func(t time.Time) string { return t.In(s.loc).Format(monthLayout) }))
		}
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

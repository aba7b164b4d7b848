package fulltext

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	bleveindex "github.com/blevesearch/bleve_index_api"

	"dongting/analyzer"
	"dongting/index/store"
	"dongting/index/work"
	"dongting/taxonomy"
)

var (
	keyWatermark = []byte("watermark")
	// keyLayout names the mapping an index was built with; an index of
	// another layout is rebuilt from the store at open.
	keyLayout = []byte("layout")
)

// indexLayout is the current mapping's name. v3: exact-match values in
// two combined fields (facet, filter) instead of one field each; v4: the
// facet column uncompressed; v5: two shards; v6: the facet column one
// chunk per document (v4 and v5 facets counted wrong documents); v7: two
// facet columns (facet, facet_more); v8: time and NPS as exact terms
// (timerange.go), no numeric or date fields; v9: hour terms, ts
// uncompressed; v10: facet fields without doc values; v11: one facet
// field again.
const indexLayout = "v11-facet"

// layoutIn names the layout with the zone of its day, hour and month
// terms: an index built in another zone is rebuilt like an older layout.
func layoutIn(loc *time.Location) string { return indexLayout + " " + loc.String() }

// ErrIndexUnreadable is a search index directory that exists but does not
// open (corrupted, or written by an incompatible version). The index is
// derived, so the corpus moves it aside and rebuilds it from the store.
var ErrIndexUnreadable = errors.New("search index unreadable")

// ErrIndexOutdated is an index built with an older mapping or in another
// time zone (its day, hour and month terms are the zone's): the corpus
// removes it and rebuilds it from the store.
var ErrIndexOutdated = errors.New("search index of an older layout or another time zone")

// Search is the Bleve index: derived from the store, rebuilt from it at
// will. Documents are keyed by the caller's record id.
type Index struct {
	created bool // a new index, not one opened from disk
	shards  []bleve.Index
	values  [searchShards]facetValues // each shard's segments' facet terms (facets.go)
	alias   bleve.IndexAlias          // searches every shard at once
	tax     func() *taxonomy.Taxonomy // the taxonomy in force (its one holder is the corpus)
	loc     *time.Location
}

// Every exact-match value of a record is a "field=value" term of one of
// two keyword fields: facet (kind, channel, scene, tag, dimension,
// sentiment, severity, month), which filters and facets read, and filter
// (every level of the org path, the touchpoint with its ancestors, red
// lines, the day and hour, the NPS score), for filters only. Two fields
// instead of eleven: a segment builds two dictionaries per batch. Facets
// are counted from the terms' postings (facets.go), so neither has doc
// values. Besides text, the only other field is ts (timerange.go): no
// numeric or date fields, whose 16 terms a value cost more segment and
// merge time than the text at 1M records. month is precomputed (YYYY-MM in
// the service's time zone): a terms facet on it is several times cheaper
// than a date-range facet.
const (
	facetField  = "facet"
	filterField = "filter"
)

// term is one exact-match value as indexed.
func term(field, value string) string { return field + "=" + value }

func newMapping() mapping.IndexMapping {
	doc := bleve.NewDocumentMapping()
	text := bleve.NewTextFieldMapping()
	text.Analyzer = analyzerIndex
	text.Store = true // highlighting needs the text
	text.IncludeTermVectors = true
	text.IncludeInAll = false
	doc.AddFieldMappingsAt("text", text)
	// No composite _all field: every query names its field, and building
	// _all costs segment time for every document.
	doc.AddSubDocumentMapping("_all", bleve.NewDocumentDisabledMapping())
	for _, f := range []string{facetField, filterField} {
		k := bleve.NewKeywordFieldMapping()
		k.Store, k.IncludeTermVectors, k.IncludeInAll = false, false, false
		k.DocValues = false // facets read postings (facets.go)
		doc.AddFieldMappingsAt(f, k)
	}
	m := bleve.NewIndexMapping()
	m.DefaultMapping = doc
	m.DefaultAnalyzer = keyword.Name
	m.DefaultField = "text"
	m.StoreDynamic = false
	m.IndexDynamic = false
	m.DocValuesDynamic = false
	return m
}

// BaselineMapping indexes only a text field with the same Chinese
// analyzer: the benchmark's baseline of what plain jieba + Bleve costs.
func BaselineMapping() mapping.IndexMapping {
	doc := bleve.NewDocumentMapping()
	text := bleve.NewTextFieldMapping()
	text.Analyzer = analyzerIndex
	text.Store = true
	text.IncludeTermVectors = true
	text.IncludeInAll = false
	doc.AddFieldMappingsAt("text", text)
	doc.AddSubDocumentMapping("_all", bleve.NewDocumentDisabledMapping())
	m := bleve.NewIndexMapping()
	m.DefaultMapping = doc
	m.DefaultAnalyzer = keyword.Name
	m.StoreDynamic, m.IndexDynamic, m.DocValuesDynamic = false, false, false
	return m
}

// searchShards is how many Bleve indexes the records are spread over (by
// a hash of the id). Bleve builds a batch's segment and answers a query on
// one goroutine per index: with two shards a bulk load builds two segments
// at once and a query's hits are collected and faceted on two cores.
const searchShards = 2

func shardDir(dir string, i int) string { return filepath.Join(dir, fmt.Sprintf("shard-%d", i)) }

// shardOf is the shard a record id lives in.
func shardOf(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % searchShards)
}

// Open opens the index in dir (one Bleve index per shard), creating
// it if absent. Register must have been called in this process.
func Open(dir string, tax func() *taxonomy.Taxonomy, loc *time.Location) (*Index, error) {
	if tools.Load() == nil {
		return nil, errors.New("index: Register the segmenter before opening the search index")
	}
	se := &Index{loc: loc}
	se.tax = tax
	fail := func(err error) (*Index, error) {
		for _, sh := range se.shards {
			sh.Close()
		}
		return nil, err
	}
	if _, err := os.Stat(dir); err == nil {
		if _, err := os.Stat(filepath.Join(dir, "index_meta.json")); err == nil {
			return nil, fmt.Errorf("index: %s is one unsharded index: %w", dir, ErrIndexOutdated)
		}
		for i := range searchShards {
			if err := verifySegments(shardDir(dir, i)); err != nil {
				return fail(err)
			}
			var sh bleve.Index
			// A damaged root.bolt can make bbolt panic inside Open.
			err := work.Safely("opening a shard", func() (err error) {
				sh, err = bleve.Open(shardDir(dir, i))
				return err
			})
			if err != nil {
				return fail(fmt.Errorf("index: open %s: %w: %w", shardDir(dir, i), ErrIndexUnreadable, err))
			}
			se.shards = append(se.shards, sh)
			layout, err := sh.GetInternal(keyLayout)
			if err != nil || string(layout) != layoutIn(loc) {
				return fail(fmt.Errorf("index: %s has layout %q, not %q: %w", shardDir(dir, i), layout, layoutIn(loc), ErrIndexOutdated))
			}
		}
	} else {
		se.created = true
		for i := range searchShards {
			sh, err := bleve.New(shardDir(dir, i), newMapping())
			if err == nil {
				se.shards = append(se.shards, sh)
				err = sh.SetInternal(keyLayout, []byte(layoutIn(loc)))
			}
			if err != nil {
				return fail(fmt.Errorf("index: create %s: %w", shardDir(dir, i), err))
			}
		}
	}
	se.alias = bleve.NewIndexAlias(se.shards...)
	return se, nil
}

// Close flushes and closes the shards.
func (s *Index) Close() error {
	var errs []error
	for _, sh := range s.shards {
		errs = append(errs, sh.Close())
	}
	return errors.Join(errs...)
}

// Watermark is the highest store sequence number every shard holds.
func (s *Index) Watermark() (uint64, error) {
	var w uint64
	for i, sh := range s.shards {
		b, err := sh.GetInternal(keyWatermark)
		if err != nil {
			return 0, err
		}
		var v uint64
		if len(b) == 8 {
			v = binary.BigEndian.Uint64(b)
		}
		if i == 0 || v < w {
			w = v
		}
	}
	return w, nil
}

// Busy reports whether any shard is still merging or persisting segments
// in the background (Bleve's index_bgthreads_active).
// A Bleve without that statistic is an error, not "idle".
func (s *Index) Busy() (bool, error) {
	busy := false
	for i, sh := range s.shards {
		st, _ := sh.StatsMap()["index"].(map[string]any)
		active, ok := st["index_bgthreads_active"].(bool)
		if !ok {
			return false, fmt.Errorf("index: shard %d reports no index_bgthreads_active", i)
		}
		busy = busy || active
	}
	return busy, nil
}

// DocCount is the number of indexed documents.
func (s *Index) DocCount() (uint64, error) { return s.alias.DocCount() }

// mapping is the index mapping (the same in every shard).
func (s *Index) mapping() mapping.IndexMapping { return s.shards[0].Mapping() }

// Apply indexes (or deletes) stored entries and moves the watermark to
// upTo in the same batch of every shard, so no shard and its watermark can
// disagree. The shards' batches run at once.
func (s *Index) Apply(entries []*store.Stored, upTo uint64) error {
	m := s.mapping()
	kw := m.AnalyzerNamed(keyword.Name)
	batches := make([]*bleve.Batch, len(s.shards))
	for i, sh := range s.shards {
		batches[i] = sh.NewBatch()
	}
	for _, st := range entries {
		b := batches[shardOf(st.Record.ID)]
		if st.Deleted {
			b.Delete(st.Record.ID)
			continue
		}
		data, ts := s.document(st)
		doc := document.NewDocument(st.Record.ID)
		err := m.MapDocument(doc, data)
		if err == nil {
			// ts has uncompressed doc values, which time filters read for
			// every hit. The mapping cannot say so; the field is added
			// here with its options.
			if ts != "" {
				doc.AddField(document.NewTextFieldCustom(timeSortField, nil, []byte(ts), tsOptions, kw))
			}
			err = b.IndexAdvanced(doc)
		}
		if err != nil {
			return fmt.Errorf("index: record %q: %w", st.Record.ID, err)
		}
	}
	errs := make([]error, len(s.shards))
	var wg sync.WaitGroup
	for i, sh := range s.shards {
		batches[i].SetInternal(keyWatermark, store.SeqKey(upTo))
		wg.Go(func() {
			errs[i] = work.Safely(fmt.Sprintf("index batch of shard %d", i), func() error { return sh.Batch(batches[i]) })
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("index: batch: %w", err)
	}
	return nil
}

// tsOptions index the ts term with uncompressed doc values: decompressing
// a chunk per hit was half of a query that read a column for every hit.
// SkipDVCompression works only together with SkipDVChunking (one chunk per
// document, as Bleve's geo fields use it): alone, zapx v17.2.5 reads the
// terms of other documents in a chunk (found when the facets read a
// column this way; TestFacetsCountTheHits caught it).
const tsOptions = bleveindex.IndexField | bleveindex.DocValues | bleveindex.SkipDVCompression | bleveindex.SkipDVChunking

// document is what the index keeps of a record: the masked text and the
// facet and filter terms (mapped by the index mapping), and its time as a
// ts term (added by Apply; "" without a time). Everything else is read
// from the store when a hit is shown.
func (s *Index) document(st *store.Stored) (doc map[string]any, ts string) {
	r, a := &st.Record, st.Analysis
	doc = map[string]any{"text": st.Text()}
	var facets, filters []string
	facet := func(field, v string) {
		if v != "" {
			facets = append(facets, term(field, v))
		}
	}
	facet("kind", r.Kind)
	facet("channel", r.Channel)
	if r.Org != "" {
		for _, o := range analyzer.OrgPrefixes(r.Org) {
			filters = append(filters, term("org", o))
		}
	}
	if t, err := time.Parse(time.RFC3339, r.OccurredAt); err == nil {
		ts = t.UTC().Format(timeSortLayout)
		local := t.In(s.loc)
		filters = append(filters, term("day", local.Format(dayLayout)), term("hour", local.Format(hourLayout)))
		facet("month", local.Format(monthLayout))
	}
	if r.NPS != nil {
		filters = append(filters, term("nps", strconv.Itoa(*r.NPS)))
	}
	if a != nil {
		facet("sentiment", a.Sentiment.Label)
		facet("severity", a.Severity)
		for _, id := range a.Redline {
			filters = appendNew(filters, term("redline", id))
		}
		var scenes, tags, under, dims []string
		for _, t := range a.Tags {
			tags = appendNew(tags, t.ID)
			scenes = appendNew(scenes, t.Scene)
			under = appendNew(under, t.ID)
			for _, p := range analyzer.TagParents(t, s.tax()) {
				under = appendNew(under, p)
			}
		}
		for _, d := range a.Dimensions {
			dims = appendNew(dims, d.ID)
		}
		for _, v := range scenes {
			facet("scene", v)
		}
		for _, v := range tags {
			facet("tag", v)
		}
		for _, v := range dims {
			facet("dimension", v)
		}
		for _, v := range under {
			filters = append(filters, term("touchpoint", v))
		}
	}
	if len(facets) > 0 {
		doc[facetField] = facets
	}
	if len(filters) > 0 {
		doc[filterField] = filters
	}
	return doc, ts
}

func appendNew(list []string, v string) []string {
	if v == "" {
		return list
	}
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

// search runs a prepared request and, when facets are asked, counts them
// over the whole match set (countFacets) at the same time. The total is
// then the facet pass's, so the counts and the total always agree even
// while records are being indexed.
func (s *Index) search(ctx context.Context, req *bleve.SearchRequest, facets []string) (*bleve.SearchResult, map[string]int, error) {
	var (
		total  uint64
		counts map[string]int
		ferr   error
		wg     sync.WaitGroup
	)
	if len(facets) > 0 {
		fields := make([]string, len(facets))
		for i, f := range facets {
			fields[i] = FacetFields[f]
		}
		wg.Go(func() {
			ferr = work.Safely("facet count", func() (err error) {
				total, counts, err = s.countFacets(ctx, req.Query, fields)
				return err
			})
		})
	}
	res, err := s.searchShards(ctx, req)
	wg.Wait()
	if err == nil {
		err = ferr
	}
	if err != nil {
		return nil, nil, err
	}
	if counts != nil {
		res.Total = total
	}
	return res, counts, nil
}

// searchShards runs req on every shard at once and merges the pages, as
// Bleve's index alias does, but on goroutines of its own that recover: a
// panic in a shard's search (Bleve's collector, a damaged segment) fails
// the request instead of ending the process. A shard that fails fails
// the query: no partial answers.
func (s *Index) searchShards(ctx context.Context, req *bleve.SearchRequest) (*bleve.SearchResult, error) {
	start := time.Now()
	results := make([]*bleve.SearchResult, len(s.shards))
	errs := make([]error, len(s.shards))
	var wg sync.WaitGroup
	for i, sh := range s.shards {
		// As Bleve's alias does: a sort field keeps the values of the
		// document being collected, so each shard needs its own.
		child := *req
		child.Sort = req.Sort.Copy()
		wg.Go(func() {
			errs[i] = work.Safely(fmt.Sprintf("search of shard %d", i), func() (err error) {
				results[i], err = sh.SearchInContext(ctx, &child)
				return err
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	res := results[0]
	for _, r := range results[1:] {
		res.Merge(r)
	}
	scoring, desc := req.Sort.CacheIsScore(), req.Sort.CacheDescending()
	slices.SortStableFunc(res.Hits, func(a, b *search.DocumentMatch) int {
		return req.Sort.Compare(scoring, desc, a, b)
	})
	if len(res.Hits) > req.Size {
		res.Hits = res.Hits[:req.Size]
	}
	res.Took = time.Since(start)
	return res, nil
}

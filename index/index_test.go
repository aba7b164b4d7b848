package index_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"

	"dongting/analyzer"
	"dongting/analyzer/analyzertest"
	"dongting/index"
	"dongting/index/fulltext"
	"dongting/index/indextest"
	"dongting/index/store"
)

func openCorpus(t testing.TB, dir string) *index.Corpus {
	return indextest.Open(t, index.Options{Dir: dir})
}

func ptr(i int) *int { return &i }

var corpus = []analyzer.Record{
	{ID: "r1", Kind: "complaint", Channel: "app", Org: "华南区域/深圳/碧海花园", OccurredAt: "2026-03-02T09:00:00+08:00",
		Text: "3栋电梯困人二十分钟，物业一直没人管，我要打12345投诉！我的电话13812345678"},
	{ID: "r2", Kind: "survey", Channel: "用后即评", Org: "华南区域/深圳/碧海花园", OccurredAt: "2026-03-05T18:00:00+08:00", NPS: ptr(10), CSAT: ptr(5),
		Text: "维修师傅上门很及时，态度也好，水管半小时就修好了"},
	{ID: "r3", Kind: "complaint", Channel: "400", Org: "华东区域/杭州/西溪云庐", OccurredAt: "2026-04-01T10:00:00+08:00", NPS: ptr(2),
		Text: "物业费又涨价了，收费标准不公开，停车费也贵"},
	{ID: "r4", Kind: "hotline", Channel: "400", Org: "华东区域/杭州/西溪云庐", OccurredAt: "2026-04-03T20:00:00+08:00",
		Turns: []analyzer.RecordTurn{{Speaker: "agent", Text: "您好，请问有什么可以帮您？"}, {Speaker: "customer", Text: "楼上装修天天砸墙，投诉好几次都没用"}}},
	{ID: "r5", Kind: "comment", Channel: "wechat", Org: "华南区域/广州/云山府", OccurredAt: "2026-04-10T08:00:00+08:00",
		Text: "小區的電梯經常故障，維修太慢"},
}

func ingestAll(t testing.TB, c *index.Corpus, recs []analyzer.Record) []index.Result {
	t.Helper()
	res := indextest.Ingest(t, c, recs)
	var last uint64
	for _, r := range res {
		last = max(last, r.Seq)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.WaitIndexed(ctx, last); err != nil {
		t.Fatal(err)
	}
	return res
}

func ids(p *index.Page) []string {
	var out []string
	for _, h := range p.Hits {
		out = append(out, h.ID)
	}
	slices.Sort(out)
	return out
}

func search(t *testing.T, c *index.Corpus, q fulltext.Query) *index.Page {
	t.Helper()
	p, err := c.Search(context.Background(), &q)
	if err != nil {
		t.Fatalf("%+v: %v", q, err)
	}
	return p
}

func TestSearch(t *testing.T) {
	c := openCorpus(t, t.TempDir())
	defer c.Close()
	ingestAll(t, c, slices.Clone(corpus))

	cases := []struct {
		name string
		q    fulltext.Query
		want []string
	}{
		{"word inside a longer word", fulltext.Query{Q: "电梯"}, []string{"r1", "r5"}},
		{"traditional query", fulltext.Query{Q: "電梯"}, []string{"r1", "r5"}},
		{"phrase", fulltext.Query{Q: `"电梯困人"`}, []string{"r1"}},
		{"AND", fulltext.Query{Q: "物业费 AND 停车费"}, []string{"r3"}},
		{"OR", fulltext.Query{Q: "物业费 OR 装修"}, []string{"r3", "r4"}},
		{"NOT", fulltext.Query{Q: "电梯 NOT 困人"}, []string{"r5"}},
		{"turns are searchable", fulltext.Query{Q: "砸墙"}, []string{"r4"}},
		{"masked phone is not", fulltext.Query{Q: "13812345678"}, nil},
		{"touchpoint subtree (scene id)", fulltext.Query{Touchpoint: []string{"fees"}}, []string{"r3"}},
		{"scene", fulltext.Query{Scene: []string{"facilities"}}, []string{"r1", "r5"}},
		{"touchpoint subtree (middle node)", fulltext.Query{Touchpoint: []string{"facilities.elevator"}}, []string{"r1", "r5"}},
		{"touchpoint leaf", fulltext.Query{Touchpoint: []string{"facilities.elevator.entrapment"}}, []string{"r1"}},
		{"org subtree", fulltext.Query{Org: "华南区域"}, []string{"r1", "r2", "r5"}},
		{"org leaf", fulltext.Query{Org: "华南区域/深圳/碧海花园"}, []string{"r1", "r2"}},
		{"org is not a prefix match", fulltext.Query{Org: "华南"}, nil},
		{"channel and kind", fulltext.Query{Channel: []string{"400"}, Kind: []string{"hotline"}}, []string{"r4"}},
		{"severity", fulltext.Query{Severity: []string{"P1"}}, []string{"r1"}},
		{"sentiment", fulltext.Query{Sentiment: []string{"positive"}}, []string{"r2"}},
		{"date range", fulltext.Query{From: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC)}, []string{"r3", "r4"}},
		// r3 is at 2026-04-01T02:00:00Z: a range includes its start and
		// excludes its end, to the second.
		{"range starting at the second", fulltext.Query{From: time.Date(2026, 4, 1, 2, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 2, 0, 1, 0, time.UTC)}, []string{"r3"}},
		{"range starting a second later", fulltext.Query{From: time.Date(2026, 4, 1, 2, 0, 1, 0, time.UTC), To: time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC)}, nil},
		{"range ending at the second", fulltext.Query{From: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 2, 0, 0, 0, time.UTC)}, nil},
		{"open start", fulltext.Query{To: time.Date(2026, 3, 5, 10, 0, 1, 0, time.UTC)}, []string{"r1", "r2"}},
		{"open end", fulltext.Query{From: time.Date(2026, 4, 3, 12, 0, 0, 0, time.UTC)}, []string{"r4", "r5"}},
		{"nps range", fulltext.Query{NPSMin: ptr(0), NPSMax: ptr(6)}, []string{"r3"}},
		{"query and filter", fulltext.Query{Q: "电梯", Org: "华东区域"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ids(search(t, c, tc.q))
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("highlight and stored fields", func(t *testing.T) {
		p := search(t, c, fulltext.Query{Q: "电梯困人", Highlight: true})
		if len(p.Hits) != 1 {
			t.Fatalf("hits %v", ids(p))
		}
		h := p.Hits[0]
		if len(h.Snippets) == 0 || !strings.Contains(h.Snippets[0], "<mark>电梯困人</mark>") {
			t.Errorf("snippets %q", h.Snippets)
		}
		if strings.Contains(strings.Join(h.Snippets, ""), "13812345678") {
			t.Errorf("snippet shows an unmasked phone: %q", h.Snippets)
		}
		if h.Org != "华南区域/深圳/碧海花园" || h.Severity != "P1" || !slices.Contains(h.Tags, "facilities.elevator.entrapment") {
			t.Errorf("hit %+v", h)
		}
	})
	t.Run("facets", func(t *testing.T) {
		p := search(t, c, fulltext.Query{Facets: []string{"scene", "channel", "month"}})
		if p.Total != 5 {
			t.Fatalf("total %d", p.Total)
		}
		got := map[string]int{}
		for _, f := range p.Facets["channel"] {
			got[f.Value] = f.Count
		}
		if got["400"] != 2 || got["app"] != 1 {
			t.Errorf("channel facet %v", p.Facets["channel"])
		}
		months := map[string]int{}
		for _, f := range p.Facets["month"] {
			months[f.Value] = f.Count
		}
		if months["2026-03"] != 2 || months["2026-04"] != 3 {
			t.Errorf("month facet %v", p.Facets["month"])
		}
	})
	t.Run("bad queries", func(t *testing.T) {
		for _, q := range []fulltext.Query{
			{Q: "电梯 AND"}, {Q: "(电梯"}, {Q: "NEAR/3(电梯, 困人)"}, {Q: "，。"},
			{Sort: "random"}, {Facets: []string{"nope"}}, {Cursor: "garbage"}, {Size: 10000},
		} {
			_, err := c.Search(context.Background(), &q)
			var qe *analyzer.Error
			if !errors.As(err, &qe) || qe.Field == "" {
				t.Errorf("%+v: got %v, want a QueryError naming the field", q, err)
			}
		}
	})
}

func TestCursorPagination(t *testing.T) {
	c := openCorpus(t, t.TempDir())
	defer c.Close()
	var recs []analyzer.Record
	for i := range 45 {
		recs = append(recs, analyzer.Record{ID: fmt.Sprintf("p%02d", i), Kind: "complaint",
			OccurredAt: time.Date(2026, time.Month(1+i%5), 1+i%7, i%3, 0, 0, 0, time.UTC).Format(time.RFC3339), Text: "楼道灯坏了好几天没人修"})
	}
	ingestAll(t, c, recs)
	for _, sort := range []string{"newest", "oldest", "relevance"} {
		seen := map[string]bool{}
		q := fulltext.Query{Q: "楼道", Sort: sort, Size: 10}
		pages := 0
		var last string // occurred_at of the previous hit
		for {
			p := search(t, c, q)
			pages++
			for _, h := range p.Hits {
				if seen[h.ID] {
					t.Fatalf("%s: %s on two pages", sort, h.ID)
				}
				seen[h.ID] = true
				if (sort == "newest" && last != "" && h.OccurredAt > last) || (sort == "oldest" && h.OccurredAt < last) {
					t.Errorf("%s: %s (%s) after a hit of %s", sort, h.ID, h.OccurredAt, last)
				}
				last = h.OccurredAt
			}
			if p.Next == "" {
				break
			}
			q.Cursor = p.Next
		}
		if len(seen) != 45 || pages != 5 {
			t.Errorf("%s: %d records over %d pages", sort, len(seen), pages)
		}
	}
	_, err := c.Search(context.Background(), &fulltext.Query{Q: "楼道", Sort: "oldest", Cursor: search(t, c, fulltext.Query{Q: "楼道", Sort: "newest", Size: 10}).Next})
	var qe *analyzer.Error
	if !errors.As(err, &qe) || qe.Field != "cursor" {
		t.Errorf("a cursor used with another order: %v", err)
	}
	n := 0
	if err := c.Each(context.Background(), fulltext.Query{Q: "楼道"}, func(*index.Hit) error { n++; return nil }); err != nil || n != 45 {
		t.Errorf("Each: %d hits, %v", n, err)
	}
}

func TestReplaceAndDelete(t *testing.T) {
	c := openCorpus(t, t.TempDir())
	defer c.Close()
	res := ingestAll(t, c, []analyzer.Record{{ID: "x", Text: "电梯坏了"}, {ID: "y", Text: "垃圾没人清运"}})
	if res[0].Replaced {
		t.Error("first put reported as a replacement")
	}
	res = ingestAll(t, c, []analyzer.Record{{ID: "x", Text: "物业费太贵"}})
	if !res[0].Replaced {
		t.Error("re-sent id not reported as a replacement")
	}
	if got := ids(search(t, c, fulltext.Query{Q: "电梯"})); got != nil {
		t.Errorf("old text still found: %v", got)
	}
	if got := ids(search(t, c, fulltext.Query{Q: "物业费"})); !slices.Equal(got, []string{"x"}) {
		t.Errorf("new text: %v", got)
	}
	if p := search(t, c, fulltext.Query{}); p.Total != 2 {
		t.Errorf("total %d after a replacement, want 2", p.Total)
	}
	st, err := c.Get("x")
	if err != nil || st.Record.Text != "物业费太贵" {
		t.Fatalf("get: %+v %v", st, err)
	}

	// The same id twice in one batch: the later one wins, once.
	ingestAll(t, c, []analyzer.Record{{ID: "z", Text: "第一版"}, {ID: "z", Text: "绿化带没人修剪"}})
	if st, _ := c.Get("z"); st == nil || st.Record.Text != "绿化带没人修剪" {
		t.Errorf("z = %+v", st)
	}

	seq, err := c.Delete("y")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitIndexed(context.Background(), seq); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get("y"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted record: %v", err)
	}
	if _, err := c.Delete("y"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if got := ids(search(t, c, fulltext.Query{Q: "垃圾"})); got != nil {
		t.Errorf("deleted record still found: %v", got)
	}
	st2, _ := c.Status()
	if st2.Records != 2 || st2.IndexDocs != 2 || st2.Lag != 0 {
		t.Errorf("status %+v", st2)
	}
}

func TestStoredFieldsArePrivate(t *testing.T) {
	c := openCorpus(t, t.TempDir())
	defer c.Close()
	ingestAll(t, c, []analyzer.Record{
		{ID: "a", Customer: "owner-13812345678", Text: "我的身份证号110101199003074514，电话13812345678", Meta: map[string]string{"callback": "13987654321"}},
		{ID: "b", Customer: "owner-13812345678", Turns: []analyzer.RecordTurn{{Speaker: "customer", Text: "打我电话13812345678"}}},
	})
	a, _ := c.Get("a")
	b, _ := c.Get("b")
	for _, s := range []string{a.Record.Text, a.Record.Meta["callback"], a.Record.Customer, b.Record.Turns[0].Text} {
		if strings.Contains(s, "1381234") || strings.Contains(s, "110101199003074514") || strings.Contains(s, "1398765") {
			t.Errorf("stored unmasked: %q", s)
		}
	}
	if a.Record.Customer == "" || a.Record.Customer != b.Record.Customer {
		t.Errorf("customer hashes %q %q: equal ids must hash equal", a.Record.Customer, b.Record.Customer)
	}
	if a.Record.OccurredAt == "" {
		t.Error("a record without a time gets the time of ingest")
	}
}

func TestIngestKeepsGoodRecords(t *testing.T) {
	c := openCorpus(t, t.TempDir())
	defer c.Close()
	recs := []*analyzer.Record{{ID: "ok1", Text: "电梯坏了"}, {ID: "", Text: "没有id"}, {ID: "bad", Kind: "tweet", Text: "x"}, {ID: "ok2", Text: "\xff\xfe"}, {ID: "ok3", Text: "垃圾"}}
	res, err := c.Ingest(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, r := range res {
		var fe *analyzer.Error
		if errors.As(r.Err, &fe) {
			fields = append(fields, fe.Field)
		}
	}
	if !slices.Equal(fields, []string{"id", "kind", "text"}) {
		t.Errorf("errors on %v", fields)
	}
	if res[0].Seq == 0 || res[4].Seq == 0 {
		t.Errorf("good records not stored: %+v", res)
	}
	st, _ := c.Status()
	if st.Records != 2 {
		t.Errorf("%d records stored, want 2", st.Records)
	}
}

// TestCatchUpAfterCrash commits to the store without the index seeing it
// (as when the process dies between the bbolt commit and the Bleve batch),
// then reopens: the index must catch up from its watermark.
func TestCatchUpAfterCrash(t *testing.T) {
	dir := t.TempDir()
	c := openCorpus(t, dir)
	ingestAll(t, c, []analyzer.Record{{ID: "before", Text: "电梯坏了"}})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir+"/dongting.db", false)
	if err != nil {
		t.Fatal(err)
	}
	a := analyzertest.New(t, "property")
	an, _ := a.Analyze(&analyzer.Record{ID: "after", Text: "停车场道闸坏了"})
	if _, err := st.Put([]*store.Stored{{Record: analyzer.Record{ID: "after", Text: "停车场道闸坏了", OccurredAt: "2026-05-01T00:00:00Z"}, Analysis: an}}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	c = openCorpus(t, dir)
	defer c.Close()
	if err := c.WaitIndexed(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	if got := ids(search(t, c, fulltext.Query{Q: "道闸"})); !slices.Equal(got, []string{"after"}) {
		t.Errorf("after catch-up: %v", got)
	}
	if got := ids(search(t, c, fulltext.Query{})); len(got) != 2 {
		t.Errorf("all: %v", got)
	}
}

// TestUnreadableIndexIsRebuilt: a search index that no longer opens is
// moved aside with an ERROR log line and rebuilt from the store.
func TestUnreadableIndexIsRebuilt(t *testing.T) {
	dir := t.TempDir()
	c := openCorpus(t, dir)
	ingestAll(t, c, corpus)
	c.Close()
	meta := filepath.Join(dir, "search.bleve", "shard-1", "index_meta.json")
	if err := os.WriteFile(meta, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	c = indextest.Open(t, index.Options{Dir: dir, Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	defer c.Close()
	if !strings.Contains(logs.String(), `"level":"ERROR","msg":"search index does not open: moved aside, rebuilding it from the store"`) {
		t.Errorf("log: %s", logs.String())
	}
	if err := c.WaitIndexed(context.Background(), c.Store().LastSeq()); err != nil {
		t.Fatal(err)
	}
	if p := search(t, c, fulltext.Query{Q: "电梯"}); p.Total == 0 {
		t.Error("nothing searchable after the rebuild")
	}
	aside, _ := filepath.Glob(filepath.Join(dir, "search.bleve.unreadable-*"))
	if len(aside) != 1 {
		t.Errorf("broken index not kept aside: %v", aside)
	}
}

// An index of an older layout (a shard without the current layout mark,
// or one unsharded index as before the shards) is removed and rebuilt from
// the store, facets included.
func TestOutdatedIndexIsRebuilt(t *testing.T) {
	t.Run("shard without the layout mark", func(t *testing.T) {
		testOutdated(t, func(dir string) {
			old, err := bleve.Open(filepath.Join(dir, "shard-0"))
			if err != nil {
				t.Fatal(err)
			}
			if err := old.DeleteInternal([]byte("layout")); err != nil {
				t.Fatal(err)
			}
			old.Close()
		})
	})
	t.Run("one unsharded index", func(t *testing.T) {
		testOutdated(t, func(dir string) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			old, err := bleve.New(dir, fulltext.BaselineMapping())
			if err != nil {
				t.Fatal(err)
			}
			old.Close()
		})
	})
}

// testOutdated stores the corpus, lets age turn the search index into an
// older one, and checks that opening rebuilds it.
func testOutdated(t *testing.T, age func(searchDir string)) {
	dir := t.TempDir()
	c := openCorpus(t, dir)
	ingestAll(t, c, corpus)
	c.Close()
	age(filepath.Join(dir, "search.bleve"))
	var logs bytes.Buffer
	c = indextest.Open(t, index.Options{Dir: dir, Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	defer c.Close()
	if !strings.Contains(logs.String(), "search index has an older layout or another time zone: rebuilding it from the store") {
		t.Errorf("log: %s", logs.String())
	}
	if err := c.WaitIndexed(context.Background(), c.Store().LastSeq()); err != nil {
		t.Fatal(err)
	}
	p := search(t, c, fulltext.Query{Facets: []string{"sentiment", "kind"}})
	if p.Total != uint64(len(corpus)) {
		t.Fatalf("total %d after the rebuild", p.Total)
	}
	kinds := map[string]int{}
	for _, f := range p.Facets["kind"] {
		kinds[f.Value] = f.Count
	}
	if kinds["complaint"] != 2 || kinds["survey"] != 1 || len(kinds) != 4 {
		t.Errorf("kind facet %v", p.Facets["kind"])
	}
	n := 0
	for i, f := range p.Facets["sentiment"] {
		n += f.Count
		if i > 0 && f.Count > p.Facets["sentiment"][i-1].Count {
			t.Errorf("sentiment facet not most frequent first: %v", p.Facets["sentiment"])
		}
	}
	if n != len(corpus) {
		t.Errorf("sentiment facet counts %d records: %v", n, p.Facets["sentiment"])
	}
}

// After a load the index settles (no background merging, the rollup log
// folded) and says so.
func TestWaitSettled(t *testing.T) {
	c := openCorpus(t, t.TempDir())
	defer c.Close()
	ingestAll(t, c, slices.Clone(corpus))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.WaitSettled(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := index.FoldNow(c); err != nil || n != 0 {
		t.Errorf("after settling, %d commits were left to fold (%v)", n, err)
	}
	gone, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := c.WaitSettled(gone); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled wait returned %v", err)
	}
}

// A sender confined to a scope keeps its record under a namespaced id when
// the id belongs to a record outside the scope, in the same transaction that
// looks; an id inside the scope is replaced as usual.
func TestIngestAsPlacesIDsInTheSendersScope(t *testing.T) {
	c := openCorpus(t, t.TempDir())
	defer c.Close()
	ingestAll(t, c, []analyzer.Record{
		{ID: "east", Org: "华东区域/杭州/西溪云庐", Text: "物业费太贵"},
		{ID: "south", Org: "华南区域/深圳/碧海花园", Text: "电梯坏了"},
	})
	in := func(recs ...analyzer.Record) []index.Result {
		t.Helper()
		ptrs := make([]*analyzer.Record, len(recs))
		for i := range recs {
			ptrs[i] = &recs[i]
		}
		res, err := c.IngestAs(t.Context(), "华南区域", ptrs)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
		return res
	}
	ns := analyzer.NamespacedID("华南区域", "east")
	res := in(analyzer.Record{ID: "east", Org: "华南区域/广州/云山府", Text: "垃圾没人清运"},
		analyzer.Record{ID: "south", Org: "华南区域/深圳/碧海花园", Text: "电梯又坏了"})
	if res[0].ID != ns || res[0].Replaced || res[1].ID != "south" || !res[1].Replaced {
		t.Fatalf("results %+v", res)
	}
	if st, err := c.Get("east"); err != nil || st.Record.Org != "华东区域/杭州/西溪云庐" {
		t.Errorf("the east record: %+v %v", st, err)
	}
	if st, err := c.Get(ns); err != nil || st.Record.Text != "垃圾没人清运" {
		t.Errorf("the namespaced record: %+v %v", st, err)
	}
	// Re-sending updates the namespaced record, even once the east one is gone.
	if _, err := c.Delete("east"); err != nil {
		t.Fatal(err)
	}
	if res := in(analyzer.Record{ID: "east", Org: "华南区域/广州/云山府", Text: "垃圾还是没人清运"}); res[0].ID != ns || !res[0].Replaced {
		t.Errorf("re-send: %+v", res)
	}
	if st, _ := c.Status(); st.Records != 2 {
		t.Errorf("%d records, want 2", st.Records)
	}
}

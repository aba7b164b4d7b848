package tagging_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"dongting/analyzer"
	"dongting/analyzer/analyzertest"
	"dongting/data"
	"dongting/index"
	"dongting/index/fulltext"
	"dongting/index/indextest"
	"dongting/index/rollup"
	"dongting/index/tagging"
	"dongting/taxonomy"
)

// drone is a complaint the built-in taxonomy has no touchpoint for.
var droneTexts = []string{
	"最近小区上空经常有无人机飞来飞去，侵犯隐私",
	"晚上无人机一直在窗外盘旋，拍到我家里面了",
	"有人在楼顶放无人机，太危险了",
	"无人机天天在阳台外面拍，隐私怎么保障",
	"昨天无人机掉在儿童乐园旁边，差点砸到小孩",
}

var otherTexts = []string{
	"电梯又坏了，困了半个小时没人管",
	"物业费太贵了，服务一点都不好",
	"保洁阿姨很负责，楼道打扫得很干净",
	"楼下垃圾桶满了好几天没人清运，味道很大",
	"车位被别人占了，保安也不管",
	"管家回复很及时，态度很好",
}

func records(n int) []analyzer.Record {
	var out []analyzer.Record
	day := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	for i := range n {
		texts := otherTexts
		if i%3 == 0 {
			texts = droneTexts
		}
		out = append(out, analyzer.Record{
			ID: fmt.Sprintf("r%03d", i), Kind: "complaint", Channel: "app", Org: "华南区域/深圳/碧海花园",
			OccurredAt: day.Add(time.Duration(i) * time.Hour).Format(time.RFC3339),
			Text:       texts[i%len(texts)],
		})
	}
	return out
}

func defaultSource(t *testing.T) []byte { return read(t, "taxonomy/property.yaml") }

func golden(t *testing.T) []byte { return read(t, "eval/property_tags.jsonl") }

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(data.FS(), name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withDrone adds a touchpoint for drones under 安全秩序.
func withDrone(src []byte) []byte {
	s := string(src)
	i := strings.Index(s, "  - id: security\n")
	j := strings.Index(s[i:], "    touchpoints:\n") + i + len("    touchpoints:\n")
	return []byte(s[:j] + "      - {id: security.drone, name: 无人机, terms: [无人机, 航拍]}\n" + s[j:])
}

type env struct {
	dir    string
	c      *index.Corpus
	m      *tagging.Manager
	opt    tagging.Options
	base   *analyzer.Analyzer
	closed bool
}

func open(t *testing.T, dir string, batch int) *env {
	t.Helper()
	base := analyzertest.New(t, "property")
	c := indextest.Open(t, index.Options{Dir: dir, Analyzer: base})
	opt := tagging.Options{Default: defaultSource(t), Golden: golden(t), Batch: batch}
	m, err := tagging.Open(c, base, opt)
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	e := &env{dir: dir, c: c, m: m, opt: opt, base: base}
	t.Cleanup(func() { e.close(t) })
	return e
}

func (e *env) close(t *testing.T) {
	if e.closed {
		return
	}
	e.closed = true
	e.m.Close()
	if err := e.c.Close(); err != nil {
		t.Error(err)
	}
}

// cells reads every rollup cell of the org under the nodes into a map.
func cells(t *testing.T, c *index.Corpus, nodes ...string) map[string]rollup.Counts {
	t.Helper()
	out := map[string]rollup.Counts{}
	err := c.Rollups().View(func(v *rollup.View) error {
		for _, n := range nodes {
			err := v.Each("华南区域", n, rollup.All, "20260101", "20261231", func(cell rollup.Cell, cn *rollup.Counts) {
				k := fmt.Sprintf("%s|%s|%s|%s", n, cell.Day, cell.Channel, cell.Kind)
				sum := out[k]
				for i := range sum {
					sum[i] += cn[i]
				}
				out[k] = sum
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range out {
		if v == (rollup.Counts{}) {
			delete(out, k)
		}
	}
	return out
}

func volume(m map[string]rollup.Counts, node string) int64 {
	var n int64
	for k, c := range m {
		if strings.HasPrefix(k, node+"|") {
			n += int64(c[rollup.CVolume])
		}
	}
	return n
}

func search(t *testing.T, c *index.Corpus, touchpoint string) uint64 {
	t.Helper()
	if err := c.WaitIndexed(context.Background(), c.Store().LastSeq()); err != nil {
		t.Fatal(err)
	}
	p, err := c.Search(context.Background(), &fulltext.Query{Touchpoint: []string{touchpoint}, Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	return p.Total
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	e := open(t, t.TempDir(), 7)
	recs := records(60)
	indextest.Ingest(t, e.c, recs)

	v1, err := e.m.Current()
	if err != nil || v1.Version != 1 || v1.Author != tagging.BuiltIn {
		t.Fatalf("first version: %+v, %v", v1, err)
	}

	// Discovery sees the drone complaints the taxonomy misses.
	disc, err := e.m.Discover(ctx, tagging.DiscoverOptions{Target: "untagged", MinDocs: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(disc.Clusters) == 0 || disc.Clusters[0].Terms[0].Term != "无人机" {
		t.Fatalf("discovery: want 无人机 first, got %+v", disc.Clusters)
	}
	phrases := 0
	for _, c := range disc.Clusters {
		for _, term := range c.Terms {
			if !term.Phrase {
				continue
			}
			phrases++
			if !slices.ContainsFunc(droneTexts, func(s string) bool { return strings.Contains(s, term.Term) }) || term.Target < 3 {
				t.Errorf("phrase %+v is not in the untagged drone texts", term)
			}
		}
	}
	if phrases == 0 {
		t.Errorf("no phrase found: %+v", disc.Clusters)
	}
	if got := disc.Clusters[0].Suggested.Rule; !strings.Contains(got, "无人机") {
		t.Fatalf("suggested rule %q", got)
	}
	if s := disc.Clusters[0].Samples; len(s) == 0 || !strings.Contains(s[0].Snippet, "无人机") || s[0].Evidence[0].Text != "无人机" {
		t.Fatalf("samples: %+v", s)
	}

	// A rule tried alone.
	rr, err := e.m.DryRunRule(ctx, "无人机 & (隐私 | 拍到)", 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	wantRule := 0
	for _, r := range recs {
		if strings.Contains(r.Text, "无人机") && (strings.Contains(r.Text, "隐私") || strings.Contains(r.Text, "拍到")) {
			wantRule++
		}
	}
	if rr.Scanned != 60 || rr.Matches != wantRule || len(rr.Samples) != 3 {
		t.Fatalf("rule run: scanned %d matches %d (want %d) samples %d", rr.Scanned, rr.Matches, wantRule, len(rr.Samples))
	}
	if _, err := e.m.DryRunRule(ctx, "无人机 & (隐私", 0, 3); !isInvalid(err, "rule") {
		t.Fatalf("bad rule: %v", err)
	}

	// The draft gains the drone records under security.drone and security.
	draft := withDrone(defaultSource(t))
	dr, err := e.m.DryRun(ctx, draft, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	drones := 0
	for _, r := range recs {
		if strings.Contains(r.Text, "无人机") {
			drones++
		}
	}
	node := func(id string) tagging.NodeDelta {
		for _, n := range dr.Nodes {
			if n.Node == id {
				return n
			}
		}
		return tagging.NodeDelta{}
	}
	if d := node("security.drone"); d.Gained != drones || d.Before != 0 || d.After != drones || len(d.Gains) != 2 {
		t.Fatalf("dry run security.drone: %+v (want %d gained)", d, drones)
	}
	if len(dr.Diff) != 1 || dr.Diff[0].Node != "security.drone" || dr.Diff[0].Change != "added" {
		t.Fatalf("dry run diff: %+v", dr.Diff)
	}
	if dr.Untagged.After >= dr.Untagged.Before {
		t.Fatalf("untagged should fall: %+v", dr.Untagged)
	}
	if dr.Golden.Worse {
		t.Fatalf("adding a node should not hurt the golden set: %+v", dr.Golden)
	}
	if cur, _ := e.m.Current(); cur.Version != 1 {
		t.Fatal("a dry run stored a version")
	}

	// An invalid taxonomy changes nothing and says where.
	bad := []byte(strings.Replace(string(draft), "terms: [无人机, 航拍]", "rule: '无人机 & (航拍'", 1))
	_, err = e.m.Replace(ctx, bad, "analyst", "", false)
	if !isInvalid(err, "taxonomy") || !strings.Contains(err.Error(), "security.drone") {
		t.Fatalf("invalid taxonomy: %v", err)
	}
	if cur, _ := e.m.Current(); cur.Version != 1 {
		t.Fatal("an invalid taxonomy was stored")
	}

	before := cells(t, e.c, "security", "security.drone", rollup.Untagged)
	res, err := e.m.Replace(ctx, draft, "analyst", "drones", false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Version.Version != 2 || res.Version.Author != "analyst" || res.Golden == nil || res.Job.State != tagging.JobRunning {
		t.Fatalf("replace: %+v", res)
	}
	if err := e.m.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if j := e.m.Job(); j.State != tagging.JobDone || j.Done != 60 || j.Version != 2 {
		t.Fatalf("job: %+v", j)
	}
	after := cells(t, e.c, "security", "security.drone", rollup.Untagged)
	if got := volume(after, "security.drone"); got != int64(drones) {
		t.Fatalf("rollups: security.drone volume %d, want %d", got, drones)
	}
	if volume(after, "security") < volume(before, "security")+int64(drones) || volume(after, rollup.Untagged) >= volume(before, rollup.Untagged) {
		t.Fatalf("rollups: security %d → %d, untagged %d → %d", volume(before, "security"), volume(after, "security"), volume(before, rollup.Untagged), volume(after, rollup.Untagged))
	}
	if n := search(t, e.c, "security.drone"); n != uint64(drones) {
		t.Fatalf("search security.drone: %d, want %d", n, drones)
	}
	if st, _ := e.c.Get("r000"); st.Analysis.Tags[0].ID != "security.drone" || st.Record.Text != recs[0].Text {
		t.Fatalf("r000 after re-tag: %+v", st)
	}
	// The rollups the re-tagging moved equal a rebuild from the records.
	if err := e.c.RebuildRollups(nil); err != nil {
		t.Fatal(err)
	}
	if rebuilt := cells(t, e.c, "security", "security.drone", rollup.Untagged); !maps.Equal(after, rebuilt) {
		t.Fatalf("re-tagged rollups differ from a rebuild:\n%v\n%v", after, rebuilt)
	}

	// Removing a node the golden set expects is refused, then forced.
	noLift := []byte(strings.Replace(string(draft), "      - {id: facilities.elevator.entrapment", "      - {id: facilities.elevator.stuck-removed", 1))
	if string(noLift) == string(draft) {
		t.Fatal("test setup: no entrapment node to rename")
	}
	_, err = e.m.Replace(ctx, noLift, "analyst", "", false)
	var refused *tagging.RefusedError
	if !errors.As(err, &refused) || !refused.Golden.Worse || len(refused.Golden.WorseNodes) == 0 {
		t.Fatalf("worse change: %v", err)
	}
	if cur, _ := e.m.Current(); cur.Version != 2 {
		t.Fatal("a refused change was stored")
	}

	// Rollback stores version 1 again as version 3; the drone tags go.
	res, err = e.m.Rollback(ctx, 1, "lead", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Version.Version != 3 || res.Version.RollbackOf != 1 || res.Version.Diff[0].Change != "removed" {
		t.Fatalf("rollback: %+v", res.Version)
	}
	if err := e.m.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	back := cells(t, e.c, "security", "security.drone", rollup.Untagged)
	if !maps.Equal(back, before) {
		t.Fatalf("after rollback the rollups differ from before the change:\n%v\n%v", before, back)
	}
	if n := search(t, e.c, "security.drone"); n != 0 {
		t.Fatalf("search security.drone after rollback: %d", n)
	}
	vs, err := e.m.Versions()
	if err != nil || len(vs) != 3 || vs[0].Version != 3 || vs[0].Source != "" {
		t.Fatalf("versions: %+v %v", vs, err)
	}
	e.close(t)
}

func isInvalid(err error, field string) bool {
	var ie *tagging.InvalidError
	return errors.As(err, &ie) && ie.Field == field
}

// TestResumeAfterRestart stops the re-tagging after its first batches and
// checks that the next start finishes it.
func TestResumeAfterRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := open(t, dir, 1)
	recs := records(60)
	indextest.Ingest(t, e.c, recs)
	if _, err := e.m.Replace(ctx, withDrone(defaultSource(t)), "analyst", "", false); err != nil {
		t.Fatal(err)
	}
	e.close(t) // one record per batch: far from done
	e = open(t, dir, 50)
	j := e.m.Job()
	if j.State != tagging.JobRunning || j.Done >= 60 {
		t.Fatalf("after restart the job should resume: %+v", j)
	}
	if tax := e.c.Analyzer().Taxonomy(); func() bool { _, ok := tax.Node("security.drone"); return !ok }() {
		t.Fatal("after restart the stored version is not in force")
	}
	if err := e.m.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if j := e.m.Job(); j.State != tagging.JobDone {
		t.Fatalf("job: %+v", j)
	}
	for _, r := range recs {
		st, err := e.c.Get(r.ID)
		if err != nil {
			t.Fatal(err)
		}
		has := false
		for _, tg := range st.Analysis.Tags {
			has = has || tg.ID == "security.drone"
		}
		if has != strings.Contains(r.Text, "无人机") {
			t.Fatalf("%s not re-tagged: %v", r.ID, st.Analysis.Tags)
		}
	}
	if got := volume(cells(t, e.c, "security.drone"), "security.drone"); got != 20 {
		t.Fatalf("security.drone volume %d, want 20", got)
	}
	e.close(t)
}

// TestRetagLeavesNewerRecords re-sends records while the re-tagging runs:
// what a client sent later must win over the re-tagging's copy.
func TestRetagLeavesNewerRecords(t *testing.T) {
	ctx := context.Background()
	e := open(t, t.TempDir(), 1)
	recs := records(40)
	indextest.Ingest(t, e.c, recs)
	if _, err := e.m.Replace(ctx, withDrone(defaultSource(t)), "analyst", "", false); err != nil {
		t.Fatal(err)
	}
	var resend []analyzer.Record
	for i := 39; i >= 0; i -= 4 {
		r := recs[i]
		r.Text = "更新：" + r.Text + "，已经第二次反映"
		resend = append(resend, r)
	}
	indextest.Ingest(t, e.c, resend)
	if err := e.m.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	for _, r := range resend {
		st, err := e.c.Get(r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Record.Text != r.Text {
			t.Fatalf("%s: the re-tagging overwrote a newer record: %q", r.ID, st.Record.Text)
		}
	}
	n, _ := e.c.Records()
	if n != 40 {
		t.Fatalf("records: %d", n)
	}
	e.close(t)
}

func TestGolden(t *testing.T) {
	e := open(t, t.TempDir(), 50)
	tax := e.c.Analyzer().Taxonomy()
	for _, tc := range []struct{ src, want string }{
		{`{"text":"电梯坏了","expect":["nope"]}`, `line 1: expect: "nope" is not a node`},
		{"\n{\"text\":\"电梯坏了\"}", "line 2: expect:"},
		{`{"text":"电梯坏了","expect":["facilities.elevator.fault"],"extra":1}`, "line 1:"},
		{`{"text":"","expect":["facilities.elevator.fault"]}`, "line 1:"},
		{"\xff", "UTF-8"},
		{"", "no cases"},
	} {
		_, err := tagging.ParseGolden([]byte(tc.src), tax)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.src, err, tc.want)
		}
	}
	if _, err := e.m.SetGolden([]byte(`{"text":"电梯坏了","expect":["nope"]}`)); !isInvalid(err, "golden") {
		t.Fatalf("bad golden stored: %v", err)
	}
	n, err := e.m.SetGolden([]byte("{\"text\":\"无人机在阳台外面拍\",\"expect\":[\"security\"]}\n{\"text\":\"电梯困人了\",\"expect\":[\"facilities.elevator.entrapment\"]}\n"))
	if err != nil || n != 2 {
		t.Fatalf("set golden: %d %v", n, err)
	}
	cases, err := e.m.Golden()
	if err != nil || len(cases) != 2 {
		t.Fatalf("golden: %d %v", len(cases), err)
	}
	draft, err := taxonomy.Parse(withDrone(defaultSource(t)))
	if err != nil {
		t.Fatal(err)
	}
	after, err := e.base.WithTaxonomy(draft)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := tagging.CompareGolden(context.Background(), cases, e.c.Analyzer(), after)
	if err != nil {
		t.Fatal(err)
	}
	// security is expected but the draft tags security.drone: nodes are
	// scored exactly, so the new tag is a false positive and the micro F1
	// falls.
	if rep.Before.TP != 1 || rep.After.TP != 1 || rep.After.FP != rep.Before.FP+1 || !rep.Worse || rep.After.F1 >= rep.Before.F1 {
		t.Fatalf("report: %+v", rep)
	}
}

// TestBuiltInUpgrade starts a store nobody changed the taxonomy of with a
// release whose built-in taxonomy differs: it is stored as a version of
// its own and applied to the records, once.
func TestBuiltInUpgrade(t *testing.T) {
	dir := t.TempDir()
	e := open(t, dir, 50)
	indextest.Ingest(t, e.c, records(30))
	e.close(t)

	base := analyzertest.New(t, "property")
	c := indextest.Open(t, index.Options{Dir: dir, Analyzer: base})
	defer c.Close()
	m, err := tagging.Open(c, base, tagging.Options{Default: withDrone(defaultSource(t)), Golden: golden(t), Batch: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	cur, err := m.Current()
	if err != nil || cur.Version != 2 || cur.Author != tagging.BuiltIn || cur.Diff[0].Node != "security.drone" {
		t.Fatalf("after the upgrade: %+v %v", cur, err)
	}
	if j := m.Job(); j.State != tagging.JobDone || j.Done != 30 {
		t.Fatalf("job: %+v", j)
	}
	if got := volume(cells(t, c, "security.drone"), "security.drone"); got != 10 {
		t.Fatalf("security.drone volume %d, want 10", got)
	}
}

// TestDiscoveryLeadsWithTopics: words about the parties, the process and
// politeness (业主, 反映, 麻烦尽快处理) never lead a cluster, however often
// the untagged records say them.
func TestDiscoveryLeadsWithTopics(t *testing.T) {
	e := open(t, t.TempDir(), 7)
	var recs []analyzer.Record
	for i := range 40 {
		recs = append(recs, analyzer.Record{ID: fmt.Sprintf("d%d", i), Kind: "hotline",
			Text: fmt.Sprintf("业主反映无人机天天在%d楼窗外拍，特别影响隐私，麻烦尽快处理，谢谢", i%9+2)})
		recs = append(recs, analyzer.Record{ID: fmt.Sprintf("b%d", i), Kind: "hotline", Text: "楼道里的灯坏了好几天，业主反映没人修"})
	}
	indextest.Ingest(t, e.c, recs)
	disc, err := e.m.Discover(context.Background(), tagging.DiscoverOptions{Target: "untagged", MinDocs: 3})
	if err != nil || len(disc.Clusters) == 0 {
		t.Fatalf("discovery: %+v %v", disc, err)
	}
	for _, c := range disc.Clusters {
		for _, bad := range []string{"业主", "反映", "特别", "麻烦", "尽快处理", "谢谢"} {
			if strings.HasPrefix(c.Terms[0].Term, bad) || c.Suggested.Name == bad {
				t.Errorf("a cluster led by %q: %+v", c.Terms[0].Term, c)
			}
		}
	}
	if disc.Clusters[0].Terms[0].Term != "无人机" {
		t.Errorf("lead %q, want 无人机", disc.Clusters[0].Terms[0].Term)
	}
}

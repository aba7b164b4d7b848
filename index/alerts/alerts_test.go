package alerts_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"dongting/analyzer"
	"dongting/data"
	"dongting/index"
	"dongting/index/alerts"
	"dongting/index/indextest"
)

const secret = "test-secret-0123456789"

// clock is a settable time for the engine.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// receiver is a manager's webhook endpoint on loopback. It checks every
// signature and can be told to fail.
type receiver struct {
	*httptest.Server
	t      *testing.T
	mu     sync.Mutex
	got    []alerts.Payload
	keys   []string
	fail   int // answer 500 to this many calls first
	calls  int
	badSig int
}

func newReceiver(t *testing.T, fail int) *receiver {
	r := &receiver{t: t, fail: fail}
	r.Server = httptest.NewServer(http.HandlerFunc(r.handle))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if err := alerts.Verify(secret, req.Header.Get("X-Dongting-Signature"), body, time.Now(), 24*365*time.Hour); err != nil {
		r.badSig++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if r.fail > 0 {
		r.fail--
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
		return
	}
	key := req.Header.Get("Idempotency-Key")
	if slices.Contains(r.keys, key) {
		return // a redelivery: already handled
	}
	var p alerts.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		r.t.Errorf("payload: %v", err)
	}
	r.keys = append(r.keys, key)
	r.got = append(r.got, p)
}

func (r *receiver) payloads() []alerts.Payload {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func defaults(t *testing.T) *alerts.Config {
	b, err := fs.ReadFile(data.FS(), "alerts/routing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := alerts.ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

type env struct {
	corpus *index.Corpus
	engine *alerts.Engine
	clock  *clock
}

func open(t *testing.T, dir string, cfg *alerts.Config, clk *clock) *env {
	t.Helper()
	c := indextest.Open(t, index.Options{Dir: dir, Now: clk.Now})
	e, err := alerts.Open(c, cfg, alerts.Options{Now: clk.Now, Tick: 20 * time.Millisecond, Backoff: 10 * time.Millisecond, Log: slog.New(slog.NewTextHandler(tlog{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return &env{c, e, clk}
}

func (v *env) close() {
	v.engine.Close()
	v.corpus.Close()
}

func (v *env) ingest(t *testing.T, recs ...analyzer.Record) { indextest.Ingest(t, v.corpus, recs) }

func (v *env) rec(id, org, text string, ago time.Duration) analyzer.Record {
	return analyzer.Record{ID: id, Kind: "complaint", Channel: "400", Org: org,
		OccurredAt: v.clock.Now().Add(-ago).Format(time.RFC3339), Text: text}
}

// baseline is one greening complaint a day on org for the 28 days before
// now (ids prefix1 … prefix28): the background a spike is measured against.
func (v *env) baseline(prefix, org string) []analyzer.Record {
	var out []analyzer.Record
	for day := 28; day >= 1; day-- {
		out = append(out, v.rec(fmt.Sprintf("%s%d", prefix, day), org, "草坪好久没修剪了", time.Duration(day)*24*time.Hour))
	}
	return out
}

const (
	project  = "华南区域/深圳/碧海花园"
	entrap   = "3栋电梯困人二十分钟，物业一直没人管，我要打12345投诉！"
	start    = "2026-06-01T09:00:00+08:00"
	hourOnly = time.Hour
)

func TestRedlineRoutingGroupingEscalationLifecycle(t *testing.T) {
	proj, city, region, group, other := newReceiver(t, 0), newReceiver(t, 0), newReceiver(t, 0), newReceiver(t, 0), newReceiver(t, 0)
	cfg := defaults(t)
	cfg.Receivers = []alerts.Receiver{
		{ID: "proj", Org: project, URL: proj.URL, Secret: secret},
		{ID: "city", Org: "华南区域/深圳", URL: city.URL, Secret: secret},
		{ID: "region", Org: "华南区域", URL: region.URL, Secret: secret},
		{ID: "group", Org: "", URL: group.URL, Secret: secret},
		{ID: "other", Org: "华东区域", Subtree: true, URL: other.URL, Secret: secret},
	}
	t0, _ := time.Parse(time.RFC3339, start)
	clk := &clock{t: t0}
	v := open(t, t.TempDir(), cfg, clk)
	defer v.close()

	v.ingest(t, v.rec("r1", project, entrap, 10*time.Minute))
	list, err := v.engine.List(alerts.ListQuery{})
	if err != nil || len(list) != 1 {
		t.Fatalf("alerts %v %v", list, err)
	}
	al := list[0]
	if al.Source != "redline" || al.Severity != "P1" || al.Org != project || al.Scene != "facilities" {
		t.Fatalf("alert %+v", al)
	}
	// P1 reaches project, city and region at once; not the group yet.
	for name, r := range map[string]*receiver{"project": proj, "city": city, "region": region} {
		waitFor(t, name+" notified", func() bool { return len(r.payloads()) == 1 })
		p := r.payloads()[0]
		if p.Event != "alert.opened" || p.Alert.ID != al.ID || p.Alert.Count != 1 {
			t.Fatalf("%s got %+v", name, p)
		}
	}
	if n := len(group.payloads()) + len(other.payloads()); n != 0 {
		t.Fatalf("group or another region notified: %d", n)
	}
	// notified lists the deliveries made, once each receiver has answered.
	waitFor(t, "the deliveries recorded", func() bool {
		al, _ = v.engine.Get(al.ID)
		return len(al.Notified) == 3
	})
	for _, n := range al.Notified {
		if want := map[string]int{"proj": 3, "city": 2, "region": 1}[n.Receiver]; n.Level != want || n.Event != "alert.opened" || n.At.IsZero() {
			t.Fatalf("notified %+v", al.Notified)
		}
	}
	// Same project and scene within the window: one alert, a count.
	v.ingest(t, v.rec("r2", project, "电梯困人了，快来人", 5*time.Minute))
	// A re-send of r1 raises nothing.
	v.ingest(t, v.rec("r1", project, entrap, 10*time.Minute))
	if al, _ = v.engine.Get(al.ID); al.Count != 2 || !slices.Equal(al.RecordIDs, []string{"r1", "r2"}) {
		t.Fatalf("grouped alert %+v", al)
	}
	// A P1 record joining the alert is news: everyone told hears of it
	// (alert.updated), once; the re-send is not.
	for name, r := range map[string]*receiver{"project": proj, "city": city, "region": region} {
		waitFor(t, name+" updated", func() bool { return len(r.payloads()) >= 2 })
		if p := r.payloads()[1]; p.Event != "alert.updated" || p.Alert.ID != al.ID || p.Alert.Count != 2 || p.Record != "r2" {
			t.Fatalf("%s got %+v", name, p)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(proj.payloads()); n != 2 {
		t.Fatalf("project got %d notifications, want 2 (opened, updated)", n)
	}
	// Unacknowledged after 30 minutes: the group (level 0) hears of it.
	clk.Add(31 * time.Minute)
	if err := v.engine.Escalate(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "escalation", func() bool { return len(group.payloads()) == 1 })
	if p := group.payloads()[0]; p.Event != "alert.escalated" || p.Level != 0 {
		t.Fatalf("escalation %+v", p)
	}
	// Lifecycle.
	if al, err = v.engine.Act(al.ID, "acknowledge", "张经理", "已派人"); err != nil || al.Status != alerts.StatusAcknowledged {
		t.Fatalf("ack %v %v", al, err)
	}
	if _, err = v.engine.Act(al.ID, "acknowledge", "张经理", ""); !errors.Is(err, alerts.ErrTransition) {
		t.Fatalf("second ack: %v", err)
	}
	if al, err = v.engine.Act(al.ID, "resolve", "张经理", "电梯已修复"); err != nil || al.Status != alerts.StatusResolved {
		t.Fatalf("resolve %v %v", al, err)
	}
	last := al.History[len(al.History)-1]
	if last.By != "张经理" || last.Action != "resolved" || last.Note != "电梯已修复" || !last.At.Equal(clk.Now().UTC()) {
		t.Fatalf("history %+v", al.History)
	}
	// Resolved: the next red line opens a new alert.
	v.ingest(t, v.rec("r3", project, entrap, time.Minute))
	if list, _ = v.engine.List(alerts.ListQuery{Status: []string{"open"}}); len(list) != 1 || list[0].ID == al.ID {
		t.Fatalf("after resolve: %+v", list)
	}
	if list, _ = v.engine.List(alerts.ListQuery{Org: "华东区域"}); len(list) != 0 {
		t.Fatalf("org filter: %+v", list)
	}
	if page, _ := v.engine.List(alerts.ListQuery{Before: list0(v, t).ID}); len(page) != 1 {
		t.Fatalf("paging: %+v", page)
	}
	for _, r := range []*receiver{proj, city, region, group} {
		if r.badSig != 0 {
			t.Fatal("a payload failed its signature check")
		}
	}
}

func list0(v *env, t *testing.T) *alerts.Alert {
	l, err := v.engine.List(alerts.ListQuery{Limit: 1})
	if err != nil || len(l) == 0 {
		t.Fatal(err)
	}
	return l[0]
}

// TestDeliveryRetriesAndRestart: a receiver that fails twice gets the
// notification on the third try; one that is down across a restart gets it
// after the restart, with the same idempotency key.
func TestDeliveryRetriesAndRestart(t *testing.T) {
	flaky := newReceiver(t, 2)
	cfg := defaults(t)
	cfg.Receivers = []alerts.Receiver{{ID: "proj", Org: project, URL: flaky.URL, Secret: secret}}
	t0, _ := time.Parse(time.RFC3339, start)
	clk := &clock{t: t0}
	dir := t.TempDir()
	v := open(t, dir, cfg, clk)
	v.ingest(t, v.rec("r1", project, entrap, time.Minute))
	// Retries are scheduled on the engine's clock: move it past each backoff.
	waitFor(t, "delivery after two failures", func() bool {
		clk.Add(time.Second)
		return len(flaky.payloads()) == 1
	})
	// The receiver has it; the engine removes it from the outbox once the
	// answer is in.
	var ob alerts.Outbox
	waitFor(t, "an empty outbox", func() bool {
		ob, _ = v.engine.Outbox()
		return ob.Pending == 0
	})
	if ob.Dead != 0 {
		t.Fatalf("outbox %+v", ob)
	}
	flaky.mu.Lock()
	calls := flaky.calls
	flaky.mu.Unlock()
	if calls != 3 {
		t.Fatalf("%d calls, want 3", calls)
	}

	// Down: nothing listens on this address.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	down := "http://" + ln.Addr().String()
	ln.Close()
	cfg.Receivers[0].URL = down
	if err := v.engine.SetConfig(cfg, "test"); err != nil {
		t.Fatal(err)
	}
	v.ingest(t, v.rec("r9", "华南区域/深圳/碧海花园", "楼道里有人打架，保安不管", time.Minute))
	waitFor(t, "a failed attempt", func() bool { return v.engine.Stats().Failed > 0 })
	ob, _ = v.engine.Outbox()
	if ob.Pending == 0 {
		t.Fatal("nothing pending while the receiver is down")
	}
	v.close()

	// The routing PUT before the restart is stored and wins over the
	// defaults; the receiver comes back at a new address.
	v = open(t, dir, defaults(t), clk)
	defer v.close()
	if got := v.engine.Config().Receivers; len(got) != 1 || got[0].URL != down || got[0].Secret != "********" {
		t.Fatalf("stored routing not used: %+v", got)
	}
	back := newReceiver(t, 0)
	moved := v.engine.Config() // secrets redacted: kept on update
	moved.Receivers[0].URL = back.URL
	if err := v.engine.SetConfig(moved, "test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery after restart", func() bool {
		clk.Add(time.Minute)
		return len(back.payloads()) >= 1
	})
	if p := back.payloads()[0]; p.Alert.RecordIDs[0] != "r9" {
		t.Fatalf("after restart: %+v", p.Alert)
	}
	waitFor(t, "an empty outbox after the restart", func() bool {
		ob, _ = v.engine.Outbox()
		return ob.Pending == 0
	})
}

func TestSources(t *testing.T) {
	cfg := defaults(t)
	cfg.MaxAge = alerts.Duration(60 * 24 * time.Hour)
	t0, _ := time.Parse(time.RFC3339, start)
	clk := &clock{t: t0}
	v := open(t, t.TempDir(), cfg, clk)
	defer v.close()
	nps := 3
	survey := v.rec("s1", project, "物业费太贵了，服务还差", time.Hour)
	survey.Kind, survey.NPS = "survey", &nps
	c1 := v.rec("c1", project, "垃圾好几天没人清运，臭死了", 48*time.Hour)
	c2 := v.rec("c2", project, "垃圾还是没人清运，臭死了", time.Hour)
	c1.Customer, c2.Customer = "owner-42", "owner-42"
	old := v.rec("old", project, entrap, 90*24*time.Hour) // history: no alert
	v.ingest(t, survey, c1, c2, old,
		v.rec("p1", project, "保洁阿姨很负责，楼道打扫得很干净，点赞", time.Hour),
		v.rec("sev", project, "第三次投诉了，楼道垃圾一直没人清运，太差了，物业费我不交了", time.Hour))
	// Spike: one greening complaint a day for four weeks, then eight today.
	var recs []analyzer.Record
	for d := 1; d <= 28; d++ {
		recs = append(recs, v.rec(fmt.Sprintf("g%d", d), "华东区域/杭州/西溪云庐", "草坪好久没修剪了", time.Duration(d)*24*time.Hour))
	}
	v.ingest(t, recs...)
	recs = nil
	for i := range 8 {
		recs = append(recs, v.rec(fmt.Sprintf("today%d", i), "华东区域/杭州/西溪云庐", "草坪好久没修剪了", time.Duration(i)*time.Minute))
	}
	v.ingest(t, recs...)

	got := map[string][]string{}
	all, err := v.engine.List(alerts.ListQuery{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, al := range all {
		got[al.Source] = append(got[al.Source], al.Org+"|"+al.Scene)
		for _, id := range al.RecordIDs {
			if id == "old" {
				t.Fatalf("a 90-day-old record raised %+v", al)
			}
		}
	}
	want := map[string]bool{"detractor": true, "repeat": true, "praise": true, "severe": true, "spike": true}
	for s := range want {
		if len(got[s]) == 0 {
			t.Errorf("no %s alert; got %v", s, got)
		}
	}
	if !slices.Contains(got["repeat"], project+"|cleaning") {
		t.Errorf("repeat %v", got["repeat"])
	}
	// One spike per org level that spiked, not one per record.
	if len(got["spike"]) == 0 || len(got["spike"]) > 3 || !slices.Contains(got["spike"], "华东区域/杭州/西溪云庐|greening") {
		t.Errorf("spike %v", got["spike"])
	}
	if v.engine.Stats().EvalTime <= 0 {
		t.Error("evaluation time not counted")
	}
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []struct{ src, field string }{
		{"window: 0s", "window"},
		{"window: 1h\nmax_age: 1h\nrepeat_days: 0", "repeat_days"},
		{"window: soon", "routing"},
		{"window: 1h\nmax_age: 1h\nrepeat_days: 7\nspike: {baseline_days: 28, min_count: 5, p: 0.01}\nsources: {loud: {severity: P1, notify: [1]}}", "sources.loud"},
		{"window: 1h\nmax_age: 1h\nrepeat_days: 7\nspike: {baseline_days: 28, min_count: 5, p: 0.01}\nsources: {redline: {severity: P1, notify: [1], escalate: [{after: 1h, level: 0}, {after: 30m, level: 0}]}}", "sources.redline.escalate[1].after"},
		{"window: 1h\nmax_age: 1h\nrepeat_days: 7\nspike: {baseline_days: 28, min_count: 5, p: 0.01}\nreceivers: [{id: a, url: 'ftp://x', secret: 0123456789abcdef}]", "receivers[0].url"},
		{"window: 1h\nmax_age: 1h\nrepeat_days: 7\nspike: {baseline_days: 28, min_count: 5, p: 0.01}\nreceivers: [{id: a, url: 'http://x', secret: short}]", "receivers[0].secret"},
		{"colour: red", "routing"},
	} {
		_, err := alerts.ParseConfig([]byte(c.src))
		var ce *analyzer.Error
		if !errors.As(err, &ce) || ce.Field != c.field {
			t.Errorf("%q: %v, want an error on %s", c.src, err, c.field)
		}
	}
}

type tlog struct{ t *testing.T }

func (w tlog) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }

// TestSpikeBaselineSurvivesRestart: six greening complaints a day for four
// weeks, a restart, then six today are normal; sixteen are a spike.
func TestSpikeBaselineSurvivesRestart(t *testing.T) {
	t0, _ := time.Parse(time.RFC3339, start)
	clk := &clock{t: t0}
	dir := t.TempDir()
	v := open(t, dir, defaults(t), clk)
	var recs []analyzer.Record
	for d := 28; d >= 1; d-- { // oldest first, as a history load would
		for i := range 6 {
			recs = append(recs, v.rec(fmt.Sprintf("g%d-%d", d, i), "华东区域/杭州/西溪云庐", "草坪好久没修剪了", time.Duration(d)*24*time.Hour+time.Duration(i)*time.Minute))
		}
	}
	v.ingest(t, recs...)
	v.close()
	v = open(t, dir, defaults(t), clk)
	defer v.close()
	today := func(from, to int) {
		recs = nil
		for i := from; i < to; i++ {
			recs = append(recs, v.rec(fmt.Sprintf("t%d", i), "华东区域/杭州/西溪云庐", "草坪好久没修剪了", time.Duration(i)*time.Second))
		}
		v.ingest(t, recs...)
	}
	today(0, 6)
	if l, _ := v.engine.List(alerts.ListQuery{Source: []string{"spike"}}); len(l) != 0 {
		t.Fatalf("a normal day raised %+v", l[0])
	}
	today(6, 16)
	if l, _ := v.engine.List(alerts.ListQuery{Source: []string{"spike"}}); len(l) == 0 {
		t.Fatal("sixteen against a baseline of six raised no spike")
	}
}

// TestEscalateOnce: two escalation passes racing over the same overdue
// alert move it one step, not two.
func TestEscalateOnce(t *testing.T) {
	t0, _ := time.Parse(time.RFC3339, start)
	clk := &clock{t: t0}
	v := open(t, t.TempDir(), defaults(t), clk)
	defer v.close()
	v.ingest(t, v.rec("sev", project, "第三次投诉了，楼道垃圾一直没人清运，太差了，物业费我不交了", time.Minute))
	clk.Add(5 * time.Hour) // past the first step (4 h), not the second (24 h)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := v.engine.Escalate(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	l, err := v.engine.List(alerts.ListQuery{Source: []string{"severe"}})
	if err != nil || len(l) != 1 {
		t.Fatalf("%v %v", l, err)
	}
	var escalated []int
	for _, ev := range l[0].History {
		if ev.Action == "escalated" {
			escalated = append(escalated, *ev.Level)
		}
	}
	// No receiver is configured: nothing was delivered, and the history
	// says so.
	if al := l[0]; al.Step != 1 || !slices.Equal(escalated, []int{2}) || len(al.Notified) != 0 {
		t.Fatalf("escalated to step %d, levels %v, notified %v", al.Step, escalated, al.Notified)
	}
}

// TestDeadLetters: a receiver that never recovers gets 15 attempts, then
// the delivery moves to the dead letters with its last error.
func TestDeadLetters(t *testing.T) {
	down := newReceiver(t, 1_000_000)
	cfg := defaults(t)
	cfg.Receivers = []alerts.Receiver{{ID: "proj", Org: project, URL: down.URL, Secret: secret}}
	t0, _ := time.Parse(time.RFC3339, start)
	clk := &clock{t: t0}
	v := open(t, t.TempDir(), cfg, clk)
	defer v.close()
	v.ingest(t, v.rec("r1", project, entrap, time.Minute))
	var ob alerts.Outbox
	waitFor(t, "a dead letter", func() bool {
		clk.Add(time.Hour) // past any backoff (capped at an hour)
		ob, _ = v.engine.Outbox()
		return ob.Dead == 1
	})
	down.mu.Lock()
	calls := down.calls
	down.mu.Unlock()
	if ob.Pending != 0 || calls != 15 || len(ob.DeadOld) != 1 || ob.DeadOld[0].Attempts != 15 || !strings.Contains(ob.DeadOld[0].LastError, "500") {
		t.Fatalf("outbox %+v after %d calls", ob, calls)
	}
}

// TestSpikeAtLargeBaselineDoesNotWedgeTheWriter: a project averaging
// 2,000 records a day of one scene (λ far above the 745 at which exp(-λ)
// underflows) and a burst today. The burst's commit finishes and raises
// one spike alert, at the project.
func TestSpikeAtLargeBaselineDoesNotWedgeTheWriter(t *testing.T) {
	const perDay = 2000
	t0, _ := time.Parse(time.RFC3339, start)
	clk := &clock{t: t0}
	dir := t.TempDir()
	// The history is loaded first, then the server restarts with the
	// alert engine, which reads its baseline from the rollups.
	c := indextest.Open(t, index.Options{Dir: dir, Now: clk.Now})
	for d := 28; d >= 1; d-- {
		recs := make([]analyzer.Record, perDay)
		for i := range recs {
			recs[i] = analyzer.Record{ID: fmt.Sprintf("h%d-%d", d, i), Kind: "complaint", Channel: "400", Org: project,
				OccurredAt: t0.Add(-time.Duration(d)*24*time.Hour + time.Duration(i)*time.Second).Format(time.RFC3339), Text: "电梯坏了"}
		}
		indextest.Ingest(t, c, recs)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	city := newReceiver(t, 0)
	cfg := defaults(t)
	cfg.Receivers = []alerts.Receiver{{ID: "city", Org: "华南区域/深圳", URL: city.URL, Secret: secret}}
	// Closed at the end, not deferred: a wedged writer blocks the close.
	v := open(t, dir, cfg, clk)
	burst := make([]analyzer.Record, 2500) // λ + 11 σ
	for i := range burst {
		burst[i] = v.rec(fmt.Sprintf("today-%d", i), project, "电梯坏了", time.Duration(i)*time.Second)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		indextest.Ingest(t, v.corpus, burst)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute): // a liveness guard, not a timing: the old search never returned
		buf := make([]byte, 1<<20)
		t.Fatalf("the burst's commit has not returned: the writer is wedged\n%s", buf[:runtime.Stack(buf, true)])
	}
	spikes, err := v.engine.List(alerts.ListQuery{Source: []string{"spike"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(spikes) != 1 || spikes[0].Org != project || spikes[0].Scene != "facilities" {
		t.Fatalf("spike alerts %+v, want one on %s", spikes, project)
	}
	// The writer is free: another write and an alert action go through.
	v.ingest(t, v.rec("after", project, "电梯坏了", 0))
	if _, err := v.engine.Act(spikes[0].ID, "acknowledge", "王经理", ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the city told", func() bool { return len(city.payloads()) == 1 })
	time.Sleep(100 * time.Millisecond)
	if got := city.payloads(); len(got) != 1 || got[0].Alert.ID != spikes[0].ID {
		t.Fatalf("the city got %d notifications, want the one spike", len(got))
	}
	v.close()
}

// TestSpikeBaselineReachesBackFromOldRecords: a record max_age old is
// compared with the baseline_days before its own day. 200 a day for 36
// days, loaded oldest first through the engine, are no spike on any day
// (with only 22 of its 28 baseline days counted, a week-old day was).
func TestSpikeBaselineReachesBackFromOldRecords(t *testing.T) {
	t0, _ := time.Parse(time.RFC3339, start)
	clk := &clock{t: t0}
	v := open(t, t.TempDir(), defaults(t), clk)
	defer v.close()
	var recs []analyzer.Record
	for d := 36; d >= 1; d-- {
		for i := range 200 {
			recs = append(recs, v.rec(fmt.Sprintf("g%d-%d", d, i), "华东区域/杭州/西溪云庐", "草坪好久没修剪了", time.Duration(d)*24*time.Hour+time.Duration(i)*time.Minute))
		}
	}
	v.ingest(t, recs...)
	if l, _ := v.engine.List(alerts.ListQuery{Source: []string{"spike"}}); len(l) != 0 {
		t.Fatalf("a steady history raised %+v", l[0])
	}
}

// byLevel is a receiver for each level of 华南区域/深圳/碧海花园.
type byLevel struct {
	recv  [4]*receiver // group, region, city, project
	names [4]string
}

func newByLevel(t *testing.T, cfg *alerts.Config) *byLevel {
	b := &byLevel{names: [4]string{"group", "region", "city", "project"}}
	orgs := []string{"", "华南区域", "华南区域/深圳", project}
	for i := range b.recv {
		b.recv[i] = newReceiver(t, 0)
		cfg.Receivers = append(cfg.Receivers, alerts.Receiver{ID: b.names[i], Org: orgs[i], URL: b.recv[i].URL, Secret: secret})
	}
	return b
}

// opened lists, per source, who received alert.opened, as "name@level".
func (b *byLevel) opened() map[string][]string {
	out := map[string][]string{}
	for i, r := range b.recv {
		for _, p := range r.payloads() {
			if p.Event == "alert.opened" {
				out[p.Alert.Source] = append(out[p.Alert.Source], fmt.Sprintf("%s@%d", b.names[i], p.Level))
			}
		}
	}
	for s := range out {
		slices.Sort(out[s])
	}
	return out
}

// TestReceiverFallbackByDepthAndSource: an alert goes to the receivers of
// each level its source notifies or, where the alert's node has no such
// level above it, to the node's own level (the nearest that exists). One
// alert of every source on a node of every depth.
func TestReceiverFallbackByDepthAndSource(t *testing.T) {
	orgs := []string{"", "华南区域", "华南区域/深圳", project}
	for d, org := range orgs {
		t.Run(fmt.Sprintf("depth %d", d), func(t *testing.T) {
			cfg := defaults(t)
			levels := newByLevel(t, cfg)
			t0, _ := time.Parse(time.RFC3339, start)
			clk := &clock{t: t0}
			v := open(t, t.TempDir(), cfg, clk)
			defer v.close()
			nps := 3
			survey := v.rec("s1", org, "物业费太贵了，服务还差", time.Hour)
			survey.Kind, survey.NPS = "survey", &nps
			c1, c2 := v.rec("c1", org, "垃圾好几天没人清运，臭死了", 48*time.Hour), v.rec("c2", org, "垃圾还是没人清运，臭死了", time.Hour)
			c1.Customer, c2.Customer = "owner-42", "owner-42"
			recs := []analyzer.Record{survey, c1, c2,
				v.rec("rl", org, entrap, 10*time.Minute),
				v.rec("sev", org, "第三次投诉了，楼道垃圾一直没人清运，太差了，物业费我不交了", time.Hour),
				v.rec("p1", org, "保洁阿姨很负责，楼道打扫得很干净，点赞", time.Hour)}
			// A spike needs an org node to count on: none at the group.
			if org != "" {
				recs = append(recs, v.baseline("g", org)...)
			}
			v.ingest(t, recs...)
			if org != "" {
				var burst []analyzer.Record
				for i := range 8 {
					burst = append(burst, v.rec(fmt.Sprintf("today%d", i), org, "草坪好久没修剪了", time.Duration(i)*time.Minute))
				}
				v.ingest(t, burst...)
			}
			want := map[string][]string{}
			for _, src := range alerts.Sources {
				if src == "spike" && org == "" {
					continue
				}
				var got []string
				for _, l := range cfg.Sources[src].Notify {
					lv := min(l, d)
					if s := fmt.Sprintf("%s@%d", levels.names[lv], lv); !slices.Contains(got, s) {
						got = append(got, s)
					}
				}
				slices.Sort(got)
				want[src] = got
			}
			waitFor(t, "every notification", func() bool { return len(levels.opened()) == len(want) })
			time.Sleep(100 * time.Millisecond) // nothing more arrives
			if got := levels.opened(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("alert.opened received\n got %v\nwant %v", got, want)
			}
			all, err := v.engine.List(alerts.ListQuery{})
			if err != nil {
				t.Fatal(err)
			}
			for _, al := range all {
				waitFor(t, al.Source+" deliveries recorded", func() bool {
					al, _ = v.engine.Get(al.ID)
					return len(al.Notified) == len(want[al.Source])
				})
				for _, ev := range al.History {
					if ev.Action == "notified" && !strings.HasPrefix(ev.Note, "queued for ") {
						t.Errorf("%s history %+v", al.Source, ev)
					}
				}
			}
			if st := v.engine.Stats(); st.Unrouted != 0 {
				t.Errorf("%d notifications reached nobody", st.Unrouted)
			}
		})
	}
}

// TestSpikeOnRegionNotifiesTheRegion: a spike on a region node (spikes tell
// the city, which a region does not have) reaches the region's receiver
// at once; without any receiver its history says nobody got it.
func TestSpikeOnRegionNotifiesTheRegion(t *testing.T) {
	for _, withReceiver := range []bool{true, false} {
		cfg := defaults(t)
		region := newReceiver(t, 0)
		if withReceiver {
			cfg.Receivers = []alerts.Receiver{{ID: "region", Org: "华南区域", URL: region.URL, Secret: secret}}
		}
		t0, _ := time.Parse(time.RFC3339, start)
		clk := &clock{t: t0}
		v := open(t, t.TempDir(), cfg, clk)
		var recs []analyzer.Record
		recs = append(recs, v.baseline("g", "华南区域")...)
		v.ingest(t, recs...)
		recs = nil
		for i := range 8 {
			recs = append(recs, v.rec(fmt.Sprintf("today%d", i), "华南区域", "草坪好久没修剪了", time.Duration(i)*time.Minute))
		}
		v.ingest(t, recs...)
		l, err := v.engine.List(alerts.ListQuery{Source: []string{"spike"}})
		if err != nil || len(l) != 1 {
			t.Fatalf("%v %v", l, err)
		}
		al := l[0]
		var notified *alerts.Event
		for i, ev := range al.History {
			if ev.Action == "notified" {
				notified = &al.History[i]
			}
		}
		if notified == nil || *notified.Level != 1 {
			t.Fatalf("history %+v", al.History)
		}
		if withReceiver {
			waitFor(t, "the region told", func() bool { return len(region.payloads()) == 1 })
			if p := region.payloads()[0]; p.Level != 1 || p.SentFor != "华南区域" || p.Alert.Source != "spike" {
				t.Fatalf("payload %+v", p)
			}
			waitFor(t, "the delivery recorded", func() bool {
				al, _ = v.engine.Get(al.ID)
				return len(al.Notified) == 1 && al.Notified[0].Receiver == "region" && al.Notified[0].Level == 1
			})
		} else if notified.Note != "no receiver manages 华南区域" || len(al.Notified) != 0 || v.engine.Stats().Unrouted != 1 {
			t.Fatalf("unrouted: history %+v, notified %+v, stats %+v", notified, al.Notified, v.engine.Stats())
		}
		v.close()
	}
}

// TestOneBurstOneSpike: a burst in one project is over the baseline of the
// project, its city and its region; it raises one spike alert, on the
// project, and the city (which project spikes notify) hears of it once.
func TestOneBurstOneSpike(t *testing.T) {
	cfg := defaults(t)
	levels := newByLevel(t, cfg)
	t0, _ := time.Parse(time.RFC3339, start)
	clk := &clock{t: t0}
	v := open(t, t.TempDir(), cfg, clk)
	defer v.close()
	var recs []analyzer.Record
	recs = append(recs, v.baseline("g", project)...)
	v.ingest(t, recs...)
	for i := range 12 { // one at a time: each crosses another node's threshold
		v.ingest(t, v.rec(fmt.Sprintf("today%d", i), project, "草坪好久没修剪了", time.Duration(12-i)*time.Minute))
	}
	l, err := v.engine.List(alerts.ListQuery{Source: []string{"spike"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 1 || l[0].Org != project || l[0].Scene != "greening" {
		t.Fatalf("spike alerts %+v", l)
	}
	waitFor(t, "the city told", func() bool { return len(levels.opened()["spike"]) == 1 })
	time.Sleep(100 * time.Millisecond)
	if got := levels.opened()["spike"]; !slices.Equal(got, []string{"city@2"}) {
		t.Fatalf("spike notifications %v", got)
	}
	// Another project of the same city spiking within the window has its
	// own alert: suppression is of ancestors only.
	other := "华南区域/深圳/翠湖山庄"
	recs = nil
	recs = append(recs, v.baseline("o", other)...)
	v.ingest(t, recs...)
	recs = nil
	for i := range 12 {
		recs = append(recs, v.rec(fmt.Sprintf("ot%d", i), other, "草坪好久没修剪了", time.Duration(i)*time.Minute))
	}
	v.ingest(t, recs...)
	if l, _ = v.engine.List(alerts.ListQuery{Source: []string{"spike"}}); len(l) != 2 || l[0].Org != other {
		t.Fatalf("spike alerts %+v", l)
	}
}

// TestResolvedSpikeFreesItsAncestors: while a project's spike alert is
// open, its ancestors' spikes of the scene join it; once it is resolved,
// a spike on an ancestor raises an alert of its own instead of vanishing
// into the resolved one.
func TestResolvedSpikeFreesItsAncestors(t *testing.T) {
	cfg := defaults(t)
	t0, _ := time.Parse(time.RFC3339, start)
	clk := &clock{t: t0}
	v := open(t, t.TempDir(), cfg, clk)
	defer v.close()
	var recs []analyzer.Record
	recs = append(recs, v.baseline("g", project)...)
	v.ingest(t, recs...)
	for i := range 12 {
		v.ingest(t, v.rec(fmt.Sprintf("today%d", i), project, "草坪好久没修剪了", time.Duration(30-i)*time.Minute))
	}
	spikes := func() []*alerts.Alert {
		t.Helper()
		l, err := v.engine.List(alerts.ListQuery{Source: []string{"spike"}})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := spikes()
	if len(l) != 1 || l[0].Org != project {
		t.Fatalf("spike alerts %+v", l)
	}
	city := "华南区域/深圳"
	// Open: a record on the city (over its threshold too) joins it.
	v.ingest(t, v.rec("city-1", city, "草坪好久没修剪了", 10*time.Minute))
	if l = spikes(); len(l) != 1 {
		t.Fatalf("while open: %+v", l)
	}
	if _, err := v.engine.Act(l[0].ID, "resolve", "张三", "修剪完了"); err != nil {
		t.Fatal(err)
	}
	v.ingest(t, v.rec("city-2", city, "草坪好久没修剪了", 5*time.Minute))
	if l = spikes(); len(l) != 2 || l[0].Org != city || l[0].Status != alerts.StatusOpen {
		t.Fatalf("after the project's alert was resolved, the city's spike: %+v", l)
	}
}

// TestUpdatesForGroupedRecords: a record joining an open alert sends
// alert.updated when its route says so (P1 routes always; see the
// lifecycle test), not otherwise.
func TestUpdatesForGroupedRecords(t *testing.T) {
	cfg := defaults(t)
	sev := cfg.Sources["severe"]
	sev.Updates = true
	cfg.Sources["severe"] = sev
	proj := newReceiver(t, 0)
	cfg.Receivers = []alerts.Receiver{{ID: "proj", Org: project, URL: proj.URL, Secret: secret}}
	t0, _ := time.Parse(time.RFC3339, start)
	clk := &clock{t: t0}
	v := open(t, t.TempDir(), cfg, clk)
	defer v.close()
	nps := 2
	d1, d2 := v.rec("d1", project, "物业费太贵了，服务还差", time.Hour), v.rec("d2", project, "物业费太贵了，服务还差", time.Hour)
	d1.Kind, d1.NPS, d2.Kind, d2.NPS = "survey", &nps, "survey", &nps
	v.ingest(t, d1, v.rec("s1", project, "第三次投诉了，楼道垃圾一直没人清运，太差了，物业费我不交了", time.Hour))
	v.ingest(t, d2, v.rec("s2", project, "第四次投诉了，楼道垃圾一直没人清运，物业费我不交了", time.Hour))
	events := func() map[string][]string {
		out := map[string][]string{}
		for _, p := range proj.payloads() {
			out[p.Alert.Source] = append(out[p.Alert.Source], fmt.Sprintf("%s %d %s", p.Event, p.Alert.Count, p.Record))
		}
		return out
	}
	waitFor(t, "the update", func() bool { return len(events()["severe"]) == 2 })
	time.Sleep(100 * time.Millisecond)
	got := events()
	if !slices.Equal(got["severe"], []string{"alert.opened 1 ", "alert.updated 2 s2"}) || !slices.Equal(got["detractor"], []string{"alert.opened 1 "}) {
		t.Fatalf("payloads %v", got)
	}
}

// TestEscalationPayload: an escalation's payload carries the step it runs
// and the next escalation, in the future even when the engine comes late.
func TestEscalationPayload(t *testing.T) {
	cfg := defaults(t)
	levels := newByLevel(t, cfg)
	t0, _ := time.Parse(time.RFC3339, start)
	clk := &clock{t: t0}
	v := open(t, t.TempDir(), cfg, clk)
	defer v.close()
	escalations := func() []alerts.Payload {
		var out []alerts.Payload
		for _, r := range levels.recv {
			for _, p := range r.payloads() {
				if p.Event == "alert.escalated" {
					out = append(out, p)
				}
			}
		}
		return out
	}
	// severe: city after 4 h, region after 24 h.
	v.ingest(t, v.rec("s1", project, "第三次投诉了，楼道垃圾一直没人清运，太差了，物业费我不交了", time.Minute))
	clk.Add(5 * time.Hour)
	if err := v.engine.Escalate(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first escalation", func() bool { return len(escalations()) == 1 })
	p := escalations()[0]
	first := p.Alert.FirstAt
	if p.Level != 2 || p.Alert.Step != 1 || p.Alert.NextEscalation == nil || !p.Alert.NextEscalation.Equal(first.Add(24*time.Hour)) {
		t.Fatalf("first escalation: level %d, step %d, next %v", p.Level, p.Alert.Step, p.Alert.NextEscalation)
	}
	// The engine was down past both steps: the first runs, and the second
	// is due 20 h (the gap between them) from now, not in the past.
	if _, err := v.engine.Act(p.Alert.ID, "resolve", "王经理", ""); err != nil {
		t.Fatal(err)
	}
	v.ingest(t, v.rec("s2", project, "第三次投诉了，楼道垃圾一直没人清运，太差了，物业费我不交了", time.Minute))
	clk.Add(30 * time.Hour)
	if err := v.engine.Escalate(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the late escalation", func() bool { return len(escalations()) == 2 })
	p = escalations()[1]
	if now := clk.Now(); p.Alert.RecordIDs[0] != "s2" || p.Alert.Step != 1 || p.Alert.NextEscalation == nil || !p.Alert.NextEscalation.Equal(now.Add(20*time.Hour).UTC()) {
		t.Fatalf("late escalation: step %d, next %v (now %v)", p.Alert.Step, p.Alert.NextEscalation, clk.Now())
	}
}

// TestTitlesUseNames: titles name red lines, cues and scenes in Chinese,
// as the rules and the taxonomy do, not by id.
func TestTitlesUseNames(t *testing.T) {
	t0, _ := time.Parse(time.RFC3339, start)
	clk := &clock{t: t0}
	v := open(t, t.TempDir(), defaults(t), clk)
	defer v.close()
	c1, c2 := v.rec("c1", project, "垃圾好几天没人清运，臭死了", 48*time.Hour), v.rec("c2", project, "垃圾还是没人清运，臭死了", time.Hour)
	c1.Customer, c2.Customer = "owner-42", "owner-42"
	recs := []analyzer.Record{c1, c2, v.rec("rl", project, entrap, time.Minute)}
	recs = append(recs, v.baseline("g", project)...)
	v.ingest(t, recs...)
	recs = nil
	for i := range 8 {
		recs = append(recs, v.rec(fmt.Sprintf("today%d", i), project, "草坪好久没修剪了", time.Duration(i)*time.Minute))
	}
	v.ingest(t, recs...)
	titles := map[string]string{}
	all, _ := v.engine.List(alerts.ListQuery{})
	for _, al := range all {
		titles[al.Source] = al.Title
	}
	if got := titles["redline"]; !strings.HasPrefix(got, "红线: 电梯困人、") || !strings.Contains(got, "扬言拨打12345") {
		t.Errorf("red line title %q", got)
	}
	if got := titles["repeat"]; got != "重复投诉: 环境卫生" {
		t.Errorf("repeat title %q", got)
	}
	if got := titles["spike"]; !strings.HasPrefix(got, "量突增: 绿化养护 当日 ≥ ") {
		t.Errorf("spike title %q", got)
	}
	for s, title := range titles {
		if strings.ContainsAny(title, "abcdefghijklmnopqrstuvwxyz") && s != "detractor" {
			t.Errorf("%s title %q has an id in it", s, title)
		}
	}
}

// TestFutureRecordsRaiseNothingNow: a record dated in 2099 or two days
// ahead is refused at ingest and raises nothing; one a few minutes ahead
// (clock skew) is evaluated; the far-future one raises its alert once
// re-sent with its real time.
func TestFutureRecordsRaiseNothingNow(t *testing.T) {
	t0, _ := time.Parse(time.RFC3339, start)
	clk := &clock{t: t0}
	v := open(t, t.TempDir(), defaults(t), clk)
	defer v.close()
	far := v.rec("far", project, entrap, 0)
	far.OccurredAt = "2099-06-01T09:00:00+08:00"
	var burst []*analyzer.Record
	for i := range 50 { // far-future records are no spike of any day either
		r := v.rec(fmt.Sprintf("fut%d", i), "华东区域/杭州/西溪云庐", "草坪好久没修剪了", 0)
		r.OccurredAt = clk.Now().AddDate(0, 0, 2).Format(time.RFC3339)
		burst = append(burst, &r)
	}
	res, err := v.corpus.Ingest(context.Background(), append(burst, &far))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		var fe *analyzer.Error
		if !errors.As(r.Err, &fe) || fe.Field != "occurred_at" {
			t.Fatalf("a future record was not refused: %+v", r)
		}
	}
	if l, _ := v.engine.List(alerts.ListQuery{}); len(l) != 0 {
		t.Fatalf("future records raised %+v", l[0])
	}
	v.ingest(t, v.rec("skewed", "华南区域/广州/云山府", entrap, -5*time.Minute))
	if l, _ := v.engine.List(alerts.ListQuery{}); len(l) != 1 || l[0].RecordIDs[0] != "skewed" {
		t.Fatalf("a record 5 minutes ahead: %+v", l)
	}
	v.ingest(t, v.rec("far", project, entrap, time.Minute))
	if l, _ := v.engine.List(alerts.ListQuery{Org: project}); len(l) != 1 || l[0].RecordIDs[0] != "far" {
		t.Fatalf("the corrected record: %+v", l)
	}
}

// The engine follows the store's change feed: a red line written while no
// engine ran (between a crash and the restart, or by a tool with the
// corpus alone) raises its alert when an engine opens the store again,
// once; the records from before the engine first opened raise nothing.
func TestWritesWhileClosedAreEvaluatedAtTheNextOpen(t *testing.T) {
	t0, _ := time.Parse(time.RFC3339, start)
	clk := &clock{t: t0}
	dir := t.TempDir()
	c := indextest.Open(t, index.Options{Dir: dir, Now: clk.Now})
	before := analyzer.Record{ID: "before", Kind: "complaint", Channel: "400", Org: project,
		OccurredAt: t0.Add(-time.Hour).Format(time.RFC3339), Text: entrap}
	indextest.Ingest(t, c, []analyzer.Record{before})
	c.Close()

	v := open(t, dir, defaults(t), clk)
	if l, _ := v.engine.List(alerts.ListQuery{}); len(l) != 0 {
		t.Fatalf("records from before the first engine raised %d alerts", len(l))
	}
	v.engine.Close()
	v.ingest(t, v.rec("while-closed", project, entrap, time.Minute))
	if l, _ := v.engine.List(alerts.ListQuery{}); len(l) != 0 {
		t.Fatalf("a closed engine raised %d alerts", len(l))
	}
	v.corpus.Close()

	for range 2 { // the second open finds nothing new
		v = open(t, dir, defaults(t), clk)
		l, err := v.engine.List(alerts.ListQuery{Source: []string{"redline"}})
		if err != nil || len(l) != 1 || !slices.Contains(l[0].RecordIDs, "while-closed") {
			t.Fatalf("after reopening: %d red-line alerts (%v), want 1 for the record written while closed", len(l), err)
		}
		v.close()
	}
}

// Package tagging manages the corpus's taxonomy over time: versions stored
// in bbolt with their author and diff, changes checked against the golden
// set before they are taken, dry runs of drafts and rules on the stored
// records, the background re-tagging of every record after a change, and
// the discovery of what the taxonomy does not cover yet.
package tagging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/analyzer"
	"dongting/analyzer/learn"
	"dongting/index"
	"dongting/index/store"
	"dongting/taxonomy"
)

var (
	bucketVersions = []byte("taxonomy_versions") // version (8 bytes) → Version JSON
	bucketState    = []byte("taxonomy_state")
	keyGolden      = []byte("golden") // the posted golden set (JSON Lines)
	keyJob         = []byte("retag")  // the re-tagging job
)

// BuiltIn is the author of the versions Dongting stores itself: the
// built-in taxonomy at the first start, and its upgrades.
const BuiltIn = "built-in"

// MaxSource bounds a taxonomy's source (the default is ~40 KB).
const MaxSource = 1 << 20

// Options configure a manager.
type Options struct {
	// Default is the built-in taxonomy's source: version 1 of a new store.
	Default []byte
	// Golden is the built-in golden set (JSON Lines), used until one is
	// posted.
	Golden []byte
	// Check, if set, vets a new taxonomy beyond its own validation (the
	// score indicators need their scenes).
	Check func(*taxonomy.Taxonomy) error
	Log   *slog.Logger
	Now   func() time.Time
	// Batch is how many records a re-tagging transaction holds.
	Batch int
}

// Manager keeps the taxonomy's versions and applies them to a corpus.
type Manager struct {
	c *index.Corpus
	// base is the analyzer of the built-in resources with the models in
	// force; versions are compiled on it. It changes when a retrained
	// model is put in force (SetModels).
	base atomic.Pointer[analyzer.Analyzer]
	opt  Options

	mu     sync.Mutex // one change at a time
	stop   context.CancelFunc
	done   chan struct{}
	jobMu  sync.Mutex
	job    Job
	rate   rateMeter
	closed bool
}

// Version is one stored taxonomy.
type Version struct {
	Version    int                   `json:"version"`
	Taxonomy   string                `json:"taxonomy"`
	Name       string                `json:"name"`
	Author     string                `json:"author"`
	Note       string                `json:"note,omitempty"`
	CreatedAt  time.Time             `json:"created_at"`
	RollbackOf int                   `json:"rollback_of,omitempty"`
	Forced     bool                  `json:"forced,omitempty"`
	Nodes      int                   `json:"nodes"`
	Diff       []taxonomy.NodeChange `json:"diff"`
	Golden     *Summary              `json:"golden,omitempty"`
	Source     string                `json:"source,omitempty"`
}

// InvalidError is a taxonomy, rule or golden set that cannot be taken; Err
// names the node, line and column where it can.
type InvalidError struct {
	Field string
	Err   error
}

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// RefusedError is a change that makes the golden set worse, not forced.
type RefusedError struct {
	Golden *GoldenReport
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("tagging: the change makes the golden set worse (micro F1 %.3f → %.3f; worse nodes: %v); send force=true to take it anyway",
		e.Golden.Before.F1, e.Golden.After.F1, e.Golden.WorseNodes)
}

// ErrNotFound is an unknown version.
var ErrNotFound = errors.New("tagging: no such version")

// Open loads the current version (storing the built-in one on first use)
// into c, and resumes a re-tagging that a restart interrupted. base is the
// analyzer built from the built-in resources; versions are compiled on it.
func Open(c *index.Corpus, base *analyzer.Analyzer, opt Options) (*Manager, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Batch <= 0 {
		opt.Batch = 500
	}
	m := &Manager{c: c, opt: opt}
	m.base.Store(base)
	db := c.Store()
	err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketVersions, bucketState} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tagging: %w", err)
	}
	if m.job, err = m.loadJob(); err != nil {
		return nil, err
	}
	cur, err := m.Current()
	if errors.Is(err, ErrNotFound) {
		_, err = m.store(context.Background(), opt.Default, change{by: BuiltIn, note: "the built-in taxonomy", first: true})
		if err != nil {
			return nil, err
		}
		cur, err = m.Current()
	}
	if err != nil {
		return nil, err
	}
	switch {
	case cur.Author == BuiltIn && cur.Source != string(opt.Default):
		// Nobody changed the taxonomy here: a new release's built-in one
		// replaces it, as a version of its own.
		opt.Log.Info("the built-in taxonomy changed: storing and applying it", "from_version", cur.Version)
		if _, err := m.Replace(context.Background(), opt.Default, BuiltIn, "the built-in taxonomy of this release", true); err != nil {
			return nil, err
		}
	case cur.Source != string(opt.Default):
		tax, err := taxonomy.Parse([]byte(cur.Source))
		if err != nil {
			return nil, fmt.Errorf("tagging: stored version %d: %w", cur.Version, err)
		}
		if err := m.activate(tax); err != nil {
			return nil, err
		}
	}
	if job := m.Job(); job.State == JobRunning && m.done == nil {
		opt.Log.Info("resuming the re-tagging of the corpus", "version", job.Version, "done", job.Done, "total", job.Total)
		m.start()
	}
	return m, nil
}

// Close stops a running re-tagging (it resumes at the next Open).
func (m *Manager) Close() {
	m.jobMu.Lock()
	m.closed = true
	stop, done := m.stop, m.done
	m.jobMu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// Current is the version in force.
func (m *Manager) Current() (*Version, error) {
	var v *Version
	err := m.c.Store().View(func(tx *bolt.Tx) error {
		k, b := tx.Bucket(bucketVersions).Cursor().Last()
		if k == nil {
			return ErrNotFound
		}
		var err error
		v, err = decodeVersion(b)
		return err
	})
	return v, err
}

// Version fetches one version, with its source.
func (m *Manager) Version(n int) (*Version, error) {
	var v *Version
	err := m.c.Store().View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketVersions).Get(store.SeqKey(uint64(n)))
		if b == nil || n <= 0 {
			return ErrNotFound
		}
		var err error
		v, err = decodeVersion(b)
		return err
	})
	return v, err
}

// Versions lists every version, newest first, without their sources.
func (m *Manager) Versions() ([]Version, error) {
	var out []Version
	err := m.c.Store().View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketVersions).Cursor()
		for k, b := c.Last(); k != nil; k, b = c.Prev() {
			v, err := decodeVersion(b)
			if err != nil {
				return err
			}
			v.Source = ""
			out = append(out, *v)
		}
		return nil
	})
	return out, err
}

func decodeVersion(b []byte) (*Version, error) {
	v := new(Version)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, err
	}
	// Versions stored before the summary kept worse_nodes: a change that
	// was not worse had none; a forced one's are not known (null).
	if g := v.Golden; g != nil && g.WorseNodes == nil && !g.Worse {
		g.WorseNodes = []string{}
	}
	return v, nil
}

// Parse validates a taxonomy source for this corpus: it parses, keeps the
// corpus's taxonomy id, and passes Options.Check.
func (m *Manager) Parse(src []byte) (*taxonomy.Taxonomy, error) {
	if len(src) > MaxSource {
		return nil, &InvalidError{"taxonomy", fmt.Errorf("tagging: the taxonomy is %d bytes, over the %d limit", len(src), MaxSource)}
	}
	tax, err := taxonomy.Parse(src)
	if err != nil {
		return nil, &InvalidError{"taxonomy", err}
	}
	if cur := m.c.Analyzer().Taxonomy(); tax.ID != cur.ID {
		return nil, &InvalidError{"taxonomy", fmt.Errorf("taxonomy: line 1: id %q: this corpus is tagged with taxonomy %q", tax.ID, cur.ID)}
	}
	if m.opt.Check != nil {
		if err := m.opt.Check(tax); err != nil {
			return nil, &InvalidError{"taxonomy", err}
		}
	}
	return tax, nil
}

// Result is what a change did.
type Result struct {
	Version *Version      `json:"version"`
	Golden  *GoldenReport `json:"golden"`
	Job     Job           `json:"job"`
}

// Replace takes a new taxonomy: it is validated (an invalid one changes
// nothing), scored on the golden set against the current one (a worse
// score is refused unless force), stored as a new version, put in force
// for new records at once, and applied to the stored records by a
// background re-tagging.
func (m *Manager) Replace(ctx context.Context, src []byte, by, note string, force bool) (*Result, error) {
	return m.store(ctx, src, change{by: by, note: note, force: force})
}

// Rollback stores version n's taxonomy again as a new version and applies
// it (the history is never rewritten).
func (m *Manager) Rollback(ctx context.Context, n int, by, note string, force bool) (*Result, error) {
	v, err := m.Version(n)
	if err != nil {
		return nil, err
	}
	if note == "" {
		note = fmt.Sprintf("rollback to version %d", n)
	}
	return m.store(ctx, []byte(v.Source), change{by: by, note: note, force: force, rollbackOf: n})
}

type change struct {
	by, note   string
	force      bool
	rollbackOf int
	first      bool // the built-in version of a new store: nothing to compare
}

func (m *Manager) store(ctx context.Context, src []byte, ch change) (*Result, error) {
	if ch.by == "" {
		return nil, &InvalidError{"by", errors.New("tagging: who makes the change is required")}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var tax *taxonomy.Taxonomy
	var err error
	if ch.first {
		tax, err = taxonomy.Parse(src)
	} else {
		tax, err = m.Parse(src)
	}
	if err != nil {
		return nil, err
	}
	v := &Version{Taxonomy: tax.ID, Name: tax.Name, Author: ch.by, Note: ch.note, CreatedAt: m.opt.Now().UTC(),
		RollbackOf: ch.rollbackOf, Nodes: len(tax.Nodes()), Diff: []taxonomy.NodeChange{}, Source: string(src)}
	res := &Result{Version: v}
	if !ch.first {
		// Compared with the version in force as stored: at the start
		// after an upgrade, the analyzer already holds the new built-in
		// taxonomy while the records were tagged with the stored one.
		curV, err := m.Current()
		if err != nil {
			return nil, err
		}
		curTax, err := taxonomy.Parse([]byte(curV.Source))
		if err != nil {
			return nil, fmt.Errorf("tagging: stored version %d: %w", curV.Version, err)
		}
		cur, err := m.base.Load().WithTaxonomy(curTax)
		if err != nil {
			return nil, fmt.Errorf("tagging: stored version %d: %w", curV.Version, err)
		}
		v.Diff = taxonomy.Diff(curTax, tax)
		if len(v.Diff) == 0 {
			return nil, &InvalidError{"taxonomy", errors.New("tagging: no node differs from the taxonomy in force")}
		}
		golden, err := m.Golden()
		if err != nil {
			return nil, err
		}
		if len(golden) > 0 {
			// Scored as it will tag, its words added, before the
			// running dictionary gets them: a refused change adds none.
			draft, release, err := m.draftAnalyzer(ctx, tax)
			if err != nil {
				return nil, err
			}
			rep, err := CompareGolden(ctx, golden, cur, draft)
			release()
			if err != nil {
				return nil, err
			}
			res.Golden = rep
			v.Golden = &rep.Summary
			if rep.Worse && !ch.force {
				return nil, &RefusedError{Golden: rep}
			}
			v.Forced = rep.Worse
		}
	}
	// The rules' words join the dictionary before the rules are compiled,
	// so a rule's word and the text's cut agree.
	m.c.Analyzer().Segmenter().AddWords(tax.Terms()...)
	final, err := m.base.Load().WithTaxonomy(tax)
	if err != nil {
		return nil, err
	}
	m.stopJob()
	var job Job
	err = m.c.Store().Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketVersions)
		n, err := b.NextSequence()
		if err != nil {
			return err
		}
		v.Version = int(n)
		enc, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := b.Put(store.SeqKey(n), enc); err != nil {
			return err
		}
		if ch.first {
			return nil
		}
		total, err := m.c.Records()
		if err != nil {
			return err
		}
		job = Job{Version: v.Version, State: JobRunning, Total: total, Bound: m.c.Store().LastSeq(), StartedAt: v.CreatedAt}
		return putJob(tx, &job)
	})
	if err != nil {
		if m.Job().State == JobRunning {
			m.start() // the change failed: the job it stopped goes on
		}
		return nil, fmt.Errorf("tagging: store version: %w", err)
	}
	if ch.first {
		return res, nil
	}
	m.c.SetAnalyzer(final)
	m.jobMu.Lock()
	m.job = job
	m.jobMu.Unlock()
	m.start()
	res.Job = m.Job()
	m.opt.Log.Info("taxonomy changed", "version", v.Version, "author", v.Author, "nodes_changed", len(v.Diff), "forced", v.Forced, "rollback_of", v.RollbackOf)
	return res, nil
}

// SetModels puts trained models in force (nil: rules alone) for new
// records and for every taxonomy version compiled from now on. Stored
// records keep their analyses until they are re-tagged (Reanalyze).
func (m *Manager) SetModels(ms *learn.Models) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.base.Store(m.base.Load().WithModels(ms))
	m.c.SetAnalyzer(m.c.Analyzer().WithModels(ms))
}

// Reanalyze starts the background re-tagging of every stored record with
// the analyzer in force, as a taxonomy change does; model is the model
// version put in force that calls for it. A running re-tagging is replaced
// (the new one covers every record).
func (m *Manager) Reanalyze(model int) (Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, err := m.Current()
	if err != nil {
		return Job{}, err
	}
	total, err := m.c.Records()
	if err != nil {
		return Job{}, fmt.Errorf("tagging: %w", err)
	}
	m.stopJob()
	job := Job{Version: cur.Version, Model: model, State: JobRunning, Total: total, Bound: m.c.Store().LastSeq(), StartedAt: m.opt.Now().UTC()}
	err = m.c.Store().Update(func(tx *bolt.Tx) error { return putJob(tx, &job) })
	if err != nil {
		if m.Job().State == JobRunning {
			m.start() // the job it stopped goes on
		}
		return Job{}, fmt.Errorf("tagging: re-tag: %w", err)
	}
	m.setJob(job)
	m.start()
	m.opt.Log.Info("re-tagging the corpus for a new model", "model", model, "records", total)
	return m.Job(), nil
}

// draftAnalyzer is tax's analyzer as the change to tax will tag: store
// adds tax's words to the dictionary before it compiles the rules, and a
// new word changes the cut around it (太离谱 is 太|离谱 until it is added),
// so the draft is compiled and cuts on a trial segmenter holding those
// words, and the running one is left alone. release frees the trial.
func (m *Manager) draftAnalyzer(ctx context.Context, tax *taxonomy.Taxonomy) (*analyzer.Analyzer, func(), error) {
	seg, release, err := m.c.Analyzer().Segmenter().Trial(ctx, tax.Terms())
	if err != nil {
		return nil, nil, fmt.Errorf("tagging: %w", err)
	}
	on, err := m.base.Load().WithSegmenter(seg)
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("tagging: %w", err)
	}
	draft, err := on.WithTaxonomy(tax)
	if err != nil {
		release()
		return nil, nil, &InvalidError{"taxonomy", err}
	}
	return draft, release, nil
}

// activate puts a stored taxonomy in force at start.
func (m *Manager) activate(tax *taxonomy.Taxonomy) error {
	m.c.Analyzer().Segmenter().AddWords(tax.Terms()...)
	a, err := m.base.Load().WithTaxonomy(tax)
	if err != nil {
		return fmt.Errorf("tagging: %w", err)
	}
	m.c.SetAnalyzer(a)
	return nil
}

// Golden is the golden set in use: the posted one, or the built-in one
// (none for a taxonomy without one: changes are then not checked).
func (m *Manager) Golden() ([]GoldenCase, error) {
	src, err := m.GoldenSource()
	if err != nil || len(bytes.TrimSpace(src)) == 0 {
		return nil, err
	}
	return ParseGolden(src, nil)
}

// GoldenSource is the golden set's JSON Lines, and whether it was posted.
func (m *Manager) GoldenSource() ([]byte, error) {
	var src []byte
	err := m.c.Store().View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketState).Get(keyGolden); b != nil {
			src = bytes.Clone(b)
		}
		return nil
	})
	if err == nil && src == nil {
		src = m.opt.Golden
	}
	return src, err
}

// SetGolden stores a golden set (JSON Lines of {"text", "expect"}) after
// checking every line: the ids it expects must be nodes of the taxonomy in
// force. An empty src goes back to the built-in set.
func (m *Manager) SetGolden(src []byte) (int, error) {
	n := 0
	if len(bytes.TrimSpace(src)) > 0 {
		cases, err := ParseGolden(src, m.c.Analyzer().Taxonomy())
		if err != nil {
			return 0, &InvalidError{"golden", err}
		}
		n = len(cases)
	}
	err := m.c.Store().Update(func(tx *bolt.Tx) error {
		if n == 0 {
			return tx.Bucket(bucketState).Delete(keyGolden)
		}
		return tx.Bucket(bucketState).Put(keyGolden, src)
	})
	return n, err
}

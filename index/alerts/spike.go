package alerts

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"dongting/analyzer"
	"dongting/index"
	"dongting/index/rollup"
	"dongting/index/store"
)

// A spike is a day's count of records on an org node and scene well above
// the Poisson baseline of the days before. The counts live in Engine.days:
// loaded from the rollups at open, staged by each commit (dayStage) and
// published when it commits, so a rolled-back write counts nothing.

// dayState is one node × scene × day: its committed count, and the count
// that would be a spike (0: not computed yet).
type dayState struct{ n, threshold uint64 }

// spikeKey is one org node × scene × day a record counts into.
type spikeKey struct {
	key, org, scene string
	day             time.Time
}

// dayStage holds a transaction's day counts until it commits.
type dayStage struct {
	counts, thresholds map[string]uint64
}

// countDay counts a record into its day per org node and scene.
func (e *Engine) countDay(st *store.Stored, at time.Time, staged *dayStage) []spikeKey {
	day := at.In(e.loc)
	dayS := day.Format(rollup.DayLayout)
	var out []spikeKey
	for _, org := range analyzer.OrgPrefixes(st.Record.Org) {
		for _, sc := range recordScenes(st) {
			k := string(key(org, sc, dayS))
			staged.counts[k]++
			out = append(out, spikeKey{k, org, sc, day})
		}
	}
	return out
}

// dayWindow is how many days back day counts are kept: a record up to
// max_age old (at most a year is honoured here) is compared with the
// baseline_days before its own day.
func dayWindow(cfg *Config) int {
	ageDays := int(math.Ceil(time.Duration(cfg.MaxAge).Hours() / 24))
	return cfg.Spike.BaselineDays + min(ageDays, 366) + 1
}

// loadDays fills the day counts of the baseline window from the rollups,
// so a restart does not forget the baseline (and raise false spikes).
func (e *Engine) loadDays(c *index.Corpus) error {
	e.mu.RLock()
	window := dayWindow(e.cfg)
	e.mu.RUnlock()
	to := e.opt.Now().In(e.loc).AddDate(0, 0, 1)
	from := to.AddDate(0, 0, -window-1)
	days := map[string]dayState{}
	err := c.Rollups().View(func(v *rollup.View) error {
		for org := range v.Orgs() {
			for _, sc := range c.Analyzer().Taxonomy().Scenes {
				err := v.EachDay(org, sc.ID, rollup.All, from.Format(rollup.DayLayout), to.Format(rollup.DayLayout), nil, func(day string, n *rollup.Counts) {
					k := string(key(org, sc.ID, day))
					d := days[k]
					d.n += uint64(n[rollup.CVolume])
					days[k] = d
				})
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
	e.dayMu.Lock()
	e.days = days
	e.dayMu.Unlock()
	return err
}

// pruneDays drops day counts older than the baseline window.
func (e *Engine) pruneDays() {
	e.mu.RLock()
	cut := e.opt.Now().In(e.loc).AddDate(0, 0, -dayWindow(e.cfg)-1).Format(rollup.DayLayout)
	e.mu.RUnlock()
	e.dayMu.Lock()
	defer e.dayMu.Unlock()
	for k := range e.days {
		if i := strings.LastIndexByte(k, 0); i >= 0 && k[i+1:] < cut {
			delete(e.days, k)
		}
	}
}

// dayCount is the committed count plus this transaction's, and the known
// threshold (0: not computed yet).
func (e *Engine) dayCount(k string, staged *dayStage) (uint64, uint64) {
	e.dayMu.Lock()
	d := e.days[k]
	e.dayMu.Unlock()
	t := d.threshold
	if st, ok := staged.thresholds[k]; ok {
		t = st
	}
	return d.n + staged.counts[k], t
}

func (e *Engine) publish(staged *dayStage) {
	e.dayMu.Lock()
	defer e.dayMu.Unlock()
	for k, n := range staged.counts {
		d := e.days[k]
		d.n += n
		e.days[k] = d
	}
	for k, t := range staged.thresholds {
		d := e.days[k]
		d.threshold = t
		e.days[k] = d
	}
}

// spikeSignals compares each day count the record went into with the
// Poisson baseline of the preceding days. The baseline is computed once per
// node, scene and day, when the count first reaches min_count, and kept
// as the count that would be significant.
func spikeSignals(c *candidate) ([]signal, error) {
	e, cfg, staged := c.e, c.cfg, c.staged
	var bursts []signal
	for _, sp := range c.spikes {
		n, threshold := e.dayCount(sp.key, staged)
		if threshold == 0 && n >= uint64(cfg.Spike.MinCount) {
			var sum uint64
			for i := 1; i <= cfg.Spike.BaselineDays; i++ {
				before, _ := e.dayCount(string(key(sp.org, sp.scene, sp.day.AddDate(0, 0, -i).Format(rollup.DayLayout))), staged)
				sum += before
			}
			lambda := math.Max(float64(sum)/float64(cfg.Spike.BaselineDays), 0.1)
			threshold = spikeThreshold(lambda, cfg.Spike.P, cfg.Spike.MinCount)
			staged.thresholds[sp.key] = threshold
		}
		if threshold > 0 && n >= threshold {
			bursts = append(bursts, signal{scene: sp.scene, org: sp.org,
				title: fmt.Sprintf("量突增: %s当日 ≥ %d 条", suffixed(sceneName(c.st, sp.scene), " "), threshold)})
		}
	}
	// The most specific node first: its alert suppresses its ancestors'
	// (raise), so one burst is one spike alert.
	slices.SortStableFunc(bursts, func(x, y signal) int { return depth(y.org) - depth(x.org) })
	return bursts, nil
}

package tagging

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/index/store"
	"dongting/index/work"
)

// Job states.
const (
	JobIdle    = "idle"    // no change applied yet
	JobRunning = "running" // re-tagging (also after a restart, until done)
	JobDone    = "done"
	JobFailed  = "failed"
)

// Job is the re-tagging of the stored records after a change. Its cursor
// is saved in the transaction that writes each batch, so a restart resumes
// where the last committed batch ended.
type Job struct {
	Version int `json:"version"`
	// Model is the model version whose putting in force started the job
	// (0: the job follows a taxonomy change).
	Model      int        `json:"model,omitempty"`
	State      string     `json:"state"`
	Total      int        `json:"total"` // live records when the change was made
	Done       int        `json:"done"`
	Bound      uint64     `json:"bound"`  // records stored after it are tagged with the version already
	Cursor     uint64     `json:"cursor"` // last sequence number handled
	StartedAt  time.Time  `json:"started_at,omitzero"`
	UpdatedAt  time.Time  `json:"updated_at,omitzero"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Error      string     `json:"error,omitempty"`
	// Rate (records/s over the last seconds) and ETASeconds are computed
	// for the answer, not stored.
	Rate       float64  `json:"rate"`
	ETASeconds *float64 `json:"eta_seconds,omitempty"`
	Percent    float64  `json:"percent"`
}

// lagAllowance is how far the search index may fall behind the re-tagging
// before it waits: searches stay fresh and the indexer's work bounded.
const lagAllowance = 5000

// Job is the re-tagging's state now.
func (m *Manager) Job() Job {
	m.jobMu.Lock()
	defer m.jobMu.Unlock()
	j := m.job
	if j.Total > 0 {
		j.Percent = min(100, float64(j.Done)*100/float64(j.Total))
	}
	if j.State == JobRunning {
		j.Rate = m.rate.perSecond()
		if j.Rate > 0 {
			eta := float64(max(j.Total-j.Done, 0)) / j.Rate
			j.ETASeconds = &eta
		}
	}
	return j
}

// Wait blocks until the running re-tagging ends (or ctx does).
func (m *Manager) Wait(ctx context.Context) error {
	m.jobMu.Lock()
	done := m.done
	m.jobMu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *Manager) start() {
	m.jobMu.Lock()
	defer m.jobMu.Unlock()
	if m.closed {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	m.stop, m.done = cancel, done
	m.rate.reset()
	go func() {
		defer close(done)
		m.run(ctx)
	}()
}

// stopJob cancels the running re-tagging and waits for it: a new change
// starts its own over every record.
func (m *Manager) stopJob() {
	m.jobMu.Lock()
	stop, done := m.stop, m.done
	m.stop, m.done = nil, nil
	m.jobMu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

func (m *Manager) run(ctx context.Context) {
	m.jobMu.Lock()
	job := m.job
	m.jobMu.Unlock()
	for ctx.Err() == nil {
		var last uint64
		var n int
		// A panic in a batch fails the job like an error: the process,
		// which started the job for a request, lives on.
		err := work.Safely("re-tagging", func() (err error) {
			last, n, err = m.c.RetagBatch(ctx, job.Cursor, job.Bound, m.opt.Batch, func(last uint64, read int) (store.Progress, error) {
				next := job
				next.Cursor, next.Done, next.UpdatedAt = last, job.Done+read, m.opt.Now().UTC()
				if last >= job.Bound {
					next.State = JobDone
					t := next.UpdatedAt
					next.FinishedAt = &t
				}
				b, err := encodeJob(&next)
				return store.Progress{Bucket: bucketState, Key: keyJob, Value: b}, err
			})
			return err
		})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			m.opt.Log.Error("re-tagging failed", "version", job.Version, "err", err)
			job.State, job.Error = JobFailed, "re-tagging stopped: "+err.Error()
			if perr := m.c.Store().Update(func(tx *bolt.Tx) error { return putJob(tx, &job) }); perr != nil {
				m.opt.Log.Error("re-tagging: saving its state", "err", perr)
			}
			m.setJob(job)
			return
		}
		job.Cursor, job.Done, job.UpdatedAt = last, job.Done+n, m.opt.Now().UTC()
		m.rate.add(n)
		if last >= job.Bound {
			job.State = JobDone
			t := job.UpdatedAt
			job.FinishedAt = &t
			m.setJob(job)
			m.opt.Log.Info("re-tagging done", "version", job.Version, "records", job.Done)
			return
		}
		m.setJob(job)
		if seq := m.c.Store().LastSeq(); seq > lagAllowance {
			if err := m.c.WaitIndexed(ctx, seq-lagAllowance); err != nil && ctx.Err() == nil {
				// A failing indexer catches up from the store later; the
				// re-tagging need not wait for it.
				m.opt.Log.Warn("re-tagging: the search index lags", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		}
	}
}

func (m *Manager) setJob(j Job) {
	m.jobMu.Lock()
	m.job = j
	m.jobMu.Unlock()
}

func putJob(tx *bolt.Tx, j *Job) error {
	b, err := encodeJob(j)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketState).Put(keyJob, b)
}

// encodeJob is a job as stored: without the figures of the running one.
func encodeJob(j *Job) ([]byte, error) {
	stored := *j
	stored.Rate, stored.ETASeconds, stored.Percent = 0, nil, 0
	return json.Marshal(&stored)
}

func (m *Manager) loadJob() (Job, error) {
	j := Job{State: JobIdle}
	err := m.c.Store().View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketState).Get(keyJob)
		if b == nil {
			return nil
		}
		return json.Unmarshal(b, &j)
	})
	if err != nil {
		return j, fmt.Errorf("tagging: job: %w", err)
	}
	return j, nil
}

// rateMeter is records per second over a sliding window of a few seconds.
type rateMeter struct {
	mu    sync.Mutex
	marks []mark
}

type mark struct {
	at time.Time
	n  int
}

const rateWindow = 10 * time.Second

func (r *rateMeter) reset() {
	r.mu.Lock()
	r.marks = []mark{{time.Now(), 0}}
	r.mu.Unlock()
}

func (r *rateMeter) add(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	r.marks = append(r.marks, mark{now, n})
	for len(r.marks) > 2 && now.Sub(r.marks[0].at) > rateWindow {
		r.marks = r.marks[1:]
	}
}

func (r *rateMeter) perSecond() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.marks) < 2 {
		return 0
	}
	n := 0
	for _, m := range r.marks[1:] {
		n += m.n
	}
	d := r.marks[len(r.marks)-1].at.Sub(r.marks[0].at).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(n) / d
}

// Package review closes the labelling loop: it lists the stored records
// whose analysis is in doubt (the model and the rules disagree, or the
// model is unsure), keeps the labels analysts correct them with, and
// retrains the models from those labels, putting a retrained model in
// force only when it is not worse on the dev split (unless forced).
package review

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/analyzer"
	"dongting/analyzer/learn"
	"dongting/index"
	"dongting/index/store"
	"dongting/index/tagging"
)

var (
	bucketLabels = []byte("review_labels")  // record id → Label JSON
	bucketModels = []byte("model_versions") // version (8 bytes) → ModelVersion JSON
	bucketFiles  = []byte("model_files")    // version (8 bytes) → the model file (learn.Models.Write)
)

// Options configure a review.
type Options struct {
	// Shipped are the models of the data directory (nil: none), in force
	// until a retrained one is accepted.
	Shipped *learn.Models
	// Resident are labelled texts of a data set the service was pointed at
	// (optional): their train split is trained on, their dev split measured
	// on, beside the stored labels.
	Resident []Example
	// Teacher is how many unlabelled stored records (the newest) the
	// analyzer in force labels for a retraining, so that what the models
	// in force learnt — from the shipped labels, whose texts the service
	// does not have — carries over, and the analysts' labels correct it
	// (0: DefaultTeacher; below 0: none).
	Teacher int
	Log     *slog.Logger
	Now     func() time.Time
}

// Example is a labelled text from outside the store.
type Example struct {
	Label  learn.Label
	Record analyzer.Record
}

// Review keeps the labels and the model versions of one corpus.
type Review struct {
	c   *index.Corpus
	tg  *tagging.Manager
	opt Options

	train sync.Mutex // one retraining at a time
	mu    sync.Mutex
	using int // the model version in force (0: the shipped one)
}

// InvalidError is input that cannot be taken; Field names what is wrong.
type InvalidError struct {
	Field string
	Err   error
}

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// Errors callers match on.
var (
	ErrNotFound = errors.New("review: not found")
	ErrNoRecord = errors.New("review: no record with this id")
	ErrBusy     = errors.New("review: a retraining is running")
)

// StoredModels reads the newest accepted model version stored in db (nil
// and 0 when there is none). It runs before the taxonomy manager opens, so
// that every analyzer compiled at start carries the models in force.
func StoredModels(db *store.Store) (*learn.Models, int, error) {
	var enc []byte
	var v int
	err := db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFiles)
		if b == nil {
			return nil
		}
		k, val := b.Cursor().Last()
		if k == nil {
			return nil
		}
		v = int(seqOf(k))
		enc = append([]byte(nil), val...)
		return nil
	})
	if err != nil || enc == nil {
		return nil, 0, err
	}
	ms, err := readModels(enc)
	if err != nil {
		return nil, 0, fmt.Errorf("review: stored model version %d: %w", v, err)
	}
	return ms, v, nil
}

// Open keeps labels and model versions in c's store; tg owns the analyzer
// in force, which a retrained model is put into.
func Open(c *index.Corpus, tg *tagging.Manager, opt Options) (*Review, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	r := &Review{c: c, tg: tg, opt: opt}
	err := c.Store().Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketLabels, bucketModels, bucketFiles} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if k, _ := tx.Bucket(bucketFiles).Cursor().Last(); k != nil {
			r.using = int(seqOf(k))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("review: %w", err)
	}
	return r, nil
}

// Shipped are the data directory's models (nil: none).
func (r *Review) Shipped() *learn.Models { return r.opt.Shipped }

// scenes are the scene ids of the taxonomy in force.
func (r *Review) scenes() []string {
	var out []string
	for _, s := range r.c.Analyzer().Taxonomy().Scenes {
		out = append(out, s.ID)
	}
	return out
}

func seqOf(k []byte) uint64 { return binary.BigEndian.Uint64(k) }

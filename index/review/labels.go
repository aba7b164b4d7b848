package review

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"dongting/analyzer/learn"
	"dongting/index/store"
)

// Label is an analyst's label of one stored record (the schema of
// learn.Label), with who gave it and when.
type Label struct {
	learn.Label
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// SetLabel stores what an analyst says of the stored record id, replacing
// an earlier label of it. The label is checked against the taxonomy in
// force; its split is the id's (learn.Split).
func (r *Review) SetLabel(id string, l learn.Label, by string) (*Label, error) {
	l.ID, l.Split = id, learn.Split(id)
	if l.Scenes == nil {
		return nil, &InvalidError{"scenes", errors.New("scenes: required: the record's scene ids, main first ([] when none applies)")}
	}
	for i, s := range l.Scenes {
		if slices.Contains(l.Scenes[:i], s) {
			return nil, &InvalidError{"scenes", fmt.Errorf("scenes: %q is listed twice", s)}
		}
	}
	if err := l.Check(r.scenes()); err != nil {
		field, _, _ := strings.Cut(err.Error(), ":")
		return nil, &InvalidError{field, err}
	}
	if by == "" {
		return nil, &InvalidError{"by", errors.New("by: who labels is required")}
	}
	if _, err := r.c.Get(id); errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoRecord
	} else if err != nil {
		return nil, err
	}
	out := &Label{Label: l, By: by, At: r.opt.Now().UTC()}
	enc, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	err = r.c.Store().Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLabels).Put([]byte(id), enc)
	})
	if err != nil {
		return nil, fmt.Errorf("review: store label: %w", err)
	}
	return out, nil
}

// Label is the stored label of record id (ErrNotFound when none).
func (r *Review) Label(id string) (*Label, error) {
	var out *Label
	err := r.c.Store().View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLabels).Get([]byte(id))
		if b == nil {
			return ErrNotFound
		}
		out = new(Label)
		return json.Unmarshal(b, out)
	})
	return out, err
}

// Labels are every stored label, in id order.
func (r *Review) Labels() ([]Label, error) {
	var out []Label
	err := r.c.Store().View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLabels).ForEach(func(_, v []byte) error {
			var l Label
			if err := json.Unmarshal(v, &l); err != nil {
				return err
			}
			out = append(out, l)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("review: labels: %w", err)
	}
	return out, nil
}

// labelled says which of ids have a stored label.
func (r *Review) labelled(ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	err := r.c.Store().View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLabels)
		for _, id := range ids {
			if b.Get([]byte(id)) != nil {
				out[id] = true
			}
		}
		return nil
	})
	return out, err
}
